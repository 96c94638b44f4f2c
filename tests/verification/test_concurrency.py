"""Races that only a real database with row locks can show."""

import pytest

from tests.concurrency import run_together
from tests.conftest import otp_from, requires_postgresql
from tests.factories import start_for
from verification import services
from verification.models import Verification

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]


def test_ten_concurrent_right_answers_give_exactly_one_success(
    organisation, bob, asha, sms_outbox
):
    verification = services.start_verification(
        organisation=organisation,
        operator=bob,
        full_name="Asha Patel",
        mobile="9876543210",
        purpose="travel",
    )
    code = otp_from(sms_outbox[0])
    outcomes = run_together(10, lambda: services.confirm_verification(verification, code))
    assert sum(o.ok for o in outcomes) == 1
    assert sorted(o.reason for o in outcomes if not o.ok) == ["already_used"] * 9


def test_twenty_concurrent_wrong_guesses_never_pass_the_attempt_limit(
    organisation, bob, asha, sms_outbox, settings
):
    verification = services.start_verification(
        organisation=organisation,
        operator=bob,
        full_name="Asha Patel",
        mobile="9876543210",
        purpose="travel",
    )
    wrong = "111111" if otp_from(sms_outbox[0]) != "111111" else "222222"
    outcomes = run_together(20, lambda: services.confirm_verification(verification, wrong))
    reasons = [o.reason for o in outcomes]
    assert reasons.count("wrong") == settings.KYVS_OTP_MAX_ATTEMPTS - 1
    assert reasons.count("too_many_attempts") == 1
    assert reasons.count("failed") == 20 - settings.KYVS_OTP_MAX_ATTEMPTS
    row = Verification.objects.get(pk=verification.pk)
    assert row.attempts == settings.KYVS_OTP_MAX_ATTEMPTS
    assert row.state == Verification.State.FAILED


@pytest.mark.parametrize("counted_before", [0, 1], ids=["the day's first starts", "later ones"])
def test_concurrent_starts_never_pass_the_daily_quota(
    organisation, bob, sms_outbox, counted_before
):
    """Ten starts at once with three of the day's verifications left: exactly three are
    started and counted, whether or not the day's count existed before them."""
    from providers.models import StartsOfDay

    organisation.daily_quota = 3 + counted_before
    organisation.save()
    if counted_before:
        start_one(organisation, bob, "9000000099")
    outcomes = run_together(10, lambda: start_one(organisation, bob))
    started = [o for o in outcomes if isinstance(o, Verification)]
    refused = [o for o in outcomes if not isinstance(o, Verification)]
    assert len(started) == 3
    assert {getattr(r, "code", repr(r)) for r in refused} == {"quota_exceeded"}
    assert StartsOfDay.objects.get(organisation=organisation).started == 3 + counted_before
    assert Verification.objects.count() == 3 + counted_before


_mobiles = iter(range(9000000000, 9000000090))


def start_one(organisation, operator, mobile=None):
    """A start for nobody registered, on `mobile` or on a mobile of its own."""
    return start_for(organisation, operator, "Nobody Here", mobile or str(next(_mobiles)))
