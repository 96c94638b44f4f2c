"""Races that only a real database with row locks can show."""

import pytest

from tests.concurrency import run_together
from tests.conftest import otp_from, requires_postgresql
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
