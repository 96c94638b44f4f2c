"""The abuse limits of DESIGN.md: OTPs per mobile, starts per operator and API key, the
organisation's daily quota, and what happens when the cache that counts them is down."""

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings

from providers.models import ApiKey
from tests.concurrency import run_together
from tests.conftest import requires_postgresql
from tests.factories import make_beneficiary, make_member, make_organisation
from verification import services
from verification.models import Verification

pytestmark = pytest.mark.django_db

CLOSED_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


@pytest.fixture
def clock():
    # 10:00 in India, half-way through an hour window and early in the UTC day.
    with time_machine.travel(datetime(2026, 3, 2, 4, 30, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def start(organisation, actor=None, *, api_key=None, name="Asha Patel", mobile="9876543210"):
    return services.start_verification(
        organisation=organisation,
        operator=actor,
        api_key=api_key,
        full_name=name,
        mobile=mobile,
        purpose="travel",
    )


def refused(call) -> services.VerificationRefused:
    with pytest.raises(services.VerificationRefused) as caught:
        call()
    return caught.value


def mobiles(count: int) -> list[str]:
    return [f"98{n:08d}" for n in range(count)]


# OTPs per mobile, across organisations


def test_the_sixth_otp_in_an_hour_for_one_mobile_is_refused_across_organisations(
    organisation, bob, other_organisation, charlie, asha, sms_outbox, clock
):
    for actor, org in [(bob, organisation)] * 3 + [(charlie, other_organisation)] * 2:
        start(org, actor)
    rows = Verification.objects.count()
    refusal = refused(lambda: start(other_organisation, charlie))
    assert refusal.code == "rate_limited"
    # The limit slides: one more fits once enough of the five has slid out of the hour.
    assert 0 < refusal.retry_after <= 60 * 60
    assert "Too many codes have been sent to this mobile number" in refusal.message
    assert Verification.objects.count() == rows
    assert len(sms_outbox) == 5


def test_the_mobile_may_have_codes_again_in_the_next_hour(
    organisation, bob, asha, sms_outbox, clock
):
    for _ in range(5):
        start(organisation, bob)
    clock.shift(timedelta(hours=1))
    start(organisation, bob)
    assert len(sms_outbox) == 6


def test_the_eleventh_otp_in_a_day_is_refused_even_in_a_new_hour(
    organisation, bob, asha, sms_outbox, clock
):
    for _ in range(2):
        for _ in range(5):
            start(organisation, bob)
        clock.shift(timedelta(hours=2))
    refusal = refused(lambda: start(organisation, bob))
    assert refusal.code == "rate_limited"
    assert refusal.retry_after > 3600  # the day's limit, not the hour's
    clock.shift(timedelta(seconds=refusal.retry_after))
    start(organisation, bob)
    assert len(sms_outbox) == 11


def test_a_burst_across_the_hour_boundary_cannot_pass_the_hourly_limit(
    organisation, bob, asha, sms_outbox
):
    # Fixed windows would let 5 through at 04:59:59 and 5 more at 05:00:01: ten codes in two
    # seconds. The sliding limit lets none of the second burst through.
    with time_machine.travel(datetime(2026, 3, 2, 4, 59, 59, tzinfo=UTC), tick=False):
        for _ in range(5):
            start(organisation, bob)
    with time_machine.travel(datetime(2026, 3, 2, 5, 0, 1, tzinfo=UTC), tick=False):
        assert refused(lambda: start(organisation, bob)).code == "rate_limited"
    # Half an hour later half the burst has slid out: two more fit, not three.
    with time_machine.travel(datetime(2026, 3, 2, 5, 30, 0, tzinfo=UTC), tick=False):
        start(organisation, bob)
        start(organisation, bob)
        assert refused(lambda: start(organisation, bob)).code == "rate_limited"
    assert len(sms_outbox) == 7


def test_starts_that_match_no_one_count_like_starts_that_match(
    organisation, bob, asha, sms_outbox, clock
):
    # Otherwise the moment the limit bites would tell whether the name was right.
    for _ in range(5):
        start(organisation, bob, name="Somebody Else")
    assert refused(lambda: start(organisation, bob)).code == "rate_limited"
    assert sms_outbox == []


def test_other_mobiles_are_not_affected(organisation, bob, asha, sms_outbox, clock):
    for _ in range(5):
        start(organisation, bob)
    start(organisation, bob, name="Ravi Shah", mobile="9123456789")


def test_resends_count_against_the_mobile(organisation, bob, asha, sms_outbox, clock):
    verification = start(organisation, bob)
    for _ in range(2):
        clock.shift(timedelta(seconds=31))
        services.resend_otp(verification)
    start(organisation, bob)
    start(organisation, bob)
    assert len(sms_outbox) == 5
    assert refused(lambda: start(organisation, bob)).code == "rate_limited"


def test_a_resend_over_the_limit_is_refused_and_keeps_the_current_code(
    organisation, bob, asha, sms_outbox, clock
):
    verification = start(organisation, bob)
    for _ in range(4):
        start(organisation, bob)
    before = Verification.objects.get(pk=verification.pk)
    clock.shift(timedelta(seconds=31))
    refusal = refused(lambda: services.resend_otp(verification))
    assert refusal.code == "rate_limited"
    after = Verification.objects.get(pk=verification.pk)
    assert (after.otp_hash, after.resends) == (before.otp_hash, before.resends)
    assert len(sms_outbox) == 5


def test_a_resend_for_an_unmatched_start_counts_like_one_for_a_match(
    organisation, bob, asha, sms_outbox, clock
):
    verification = start(organisation, bob, name="Somebody Else")
    clock.shift(timedelta(seconds=31))
    services.resend_otp(verification)
    for _ in range(3):
        start(organisation, bob)
    assert refused(lambda: start(organisation, bob)).code == "rate_limited"


def test_a_refused_start_uses_up_none_of_the_mobiles_allowance(
    organisation, bob, asha, sms_outbox, clock
):
    organisation.daily_quota = 1
    organisation.save()
    start(organisation, bob)
    for _ in range(6):
        assert refused(lambda: start(organisation, bob)).code == "quota_exceeded"
    organisation.daily_quota = 100
    organisation.save()
    for _ in range(4):
        start(organisation, bob)
    assert refused(lambda: start(organisation, bob)).code == "rate_limited"


def test_the_refusal_is_logged_with_the_masked_mobile_only(
    organisation, bob, asha, sms_outbox, clock, caplog
):
    for _ in range(5):
        start(organisation, bob)
    with caplog.at_level(logging.WARNING, logger="verification.services"):
        refused(lambda: start(organisation, bob))
    [line] = [r.getMessage() for r in caplog.records if "limit of" in r.getMessage()]
    assert "otp-mobile" in line
    assert "3210" in line
    assert "9876543210" not in line


# Starts per operator and per API key


def test_an_operator_over_the_start_limit_is_refused_until_the_wait_it_was_told(
    organisation, bob, sms_outbox, settings, clock
):
    settings.KYVS_STARTS_PER_ACTOR = 3
    numbers = mobiles(5)
    for number in numbers[:3]:
        start(organisation, bob, mobile=number)
    refusal = refused(lambda: start(organisation, bob, mobile=numbers[3]))
    assert refusal.code == "rate_limited"
    assert 0 < refusal.retry_after <= 2 * 600
    assert "started from this account" in refusal.message
    assert Verification.objects.count() == 3
    clock.shift(timedelta(seconds=refusal.retry_after - 1))
    assert refused(lambda: start(organisation, bob, mobile=numbers[3])).code == "rate_limited"
    clock.shift(timedelta(seconds=1))
    start(organisation, bob, mobile=numbers[4])


def test_the_start_limit_is_per_operator(organisation, bob, sms_outbox, settings, clock):
    settings.KYVS_STARTS_PER_ACTOR = 3
    dev = make_member(organisation, "dev")
    numbers = mobiles(6)
    for number in numbers[:3]:
        start(organisation, bob, mobile=number)
    for number in numbers[3:]:
        start(organisation, dev, mobile=number)


def test_the_default_start_limit_is_thirty_per_ten_minutes(organisation, bob, sms_outbox, clock):
    numbers = mobiles(31)
    for number in numbers[:30]:
        start(organisation, bob, mobile=number)
    assert refused(lambda: start(organisation, bob, mobile=numbers[30])).code == "rate_limited"


def test_an_api_key_over_the_start_limit_is_refused_and_another_key_is_not(
    organisation, sms_outbox, settings, clock
):
    settings.KYVS_STARTS_PER_ACTOR = 3
    first, _ = ApiKey.issue(organisation, "front desk app")
    second, _ = ApiKey.issue(organisation, "kiosk")
    numbers = mobiles(5)
    for number in numbers[:3]:
        start(organisation, api_key=first, mobile=number)
    refusal = refused(lambda: start(organisation, api_key=first, mobile=numbers[3]))
    assert refusal.code == "rate_limited"
    assert refusal.retry_after > 0
    start(organisation, api_key=second, mobile=numbers[4])


# The organisation's daily quota


def test_the_organisation_quota_refuses_the_start_after_the_last_one_today(
    organisation, bob, sms_outbox, clock
):
    organisation.daily_quota = 2
    organisation.save()
    numbers = mobiles(4)
    start(organisation, bob, mobile=numbers[0])
    start(organisation, bob, mobile=numbers[1])
    assert refused(lambda: start(organisation, bob, mobile=numbers[2])).code == "quota_exceeded"
    assert Verification.objects.count() == 2
    clock.shift(timedelta(days=1))
    start(organisation, bob, mobile=numbers[3])


# The cache is down


def test_with_the_cache_down_a_start_is_refused_and_leaves_no_row(
    organisation, bob, asha, sms_outbox
):
    with override_settings(CACHES=CLOSED_REDIS):
        refusal = refused(lambda: start(organisation, bob))
    assert refusal.code == "unavailable"
    assert refusal.retry_after
    assert Verification.objects.count() == 0
    assert sms_outbox == []


def test_with_the_cache_down_the_web_answers_503_with_a_clear_page(
    client, organisation, bob, asha, sms_outbox
):
    client.force_login(bob)
    with override_settings(CACHES=CLOSED_REDIS):
        response = client.post(
            "/verify/",
            {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"},
        )
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "Please try again shortly" in response.content.decode()
    assert Verification.objects.count() == 0
    assert sms_outbox == []


def test_with_the_cache_down_a_resend_answers_503_and_keeps_the_code(
    client, organisation, bob, asha, sms_outbox, clock
):
    verification = start(organisation, bob)
    before = Verification.objects.get(pk=verification.pk)
    clock.shift(timedelta(seconds=31))
    client.force_login(bob)
    with override_settings(CACHES=CLOSED_REDIS):
        response = client.post(f"/verify/{verification.public_id}/resend/")
    assert response.status_code == 503
    assert "Please try again shortly" in response.content.decode()
    after = Verification.objects.get(pk=verification.pk)
    assert (after.otp_hash, after.resends) == (before.otp_hash, before.resends)
    assert len(sms_outbox) == 1


# The web page


def test_over_the_limit_the_web_form_answers_429_with_retry_after_and_a_message(
    client, organisation, bob, asha, sms_outbox, clock
):
    client.force_login(bob)
    data = {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"}
    for _ in range(5):
        assert client.post("/verify/", data).status_code == 302
    response = client.post("/verify/", data)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "Too many codes have been sent to this mobile number" in response.content.decode()


def test_the_web_start_records_the_client_address(client, organisation, bob, asha, sms_outbox):
    client.force_login(bob)
    client.post(
        "/verify/",
        {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"},
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_FORWARDED_FOR="192.0.2.1",
    )
    assert Verification.objects.get().ip == "203.0.113.7"


@override_settings(KYVS_TRUSTED_PROXY_HEADER="X-Forwarded-For")
def test_behind_a_trusted_proxy_the_address_it_added_is_recorded(
    client, organisation, bob, asha, sms_outbox
):
    client.force_login(bob)
    client.post(
        "/verify/",
        {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.7",
    )
    assert Verification.objects.get().ip == "203.0.113.7"


# Races


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_starts_for_one_mobile_never_pass_the_per_mobile_limit(sms_outbox):
    organisation = make_organisation(name="Busy Counter", daily_quota=1000)
    operators = [make_member(organisation) for _ in range(10)]
    make_beneficiary(name="Asha Patel", mobile="9876543210")
    queue = list(operators)
    lock = threading.Lock()

    def one_start():
        with lock:
            operator = queue.pop()
        return start(organisation, operator)

    results = run_together(10, one_start)
    refusals = [r for r in results if isinstance(r, services.VerificationRefused)]
    assert len(refusals) == 5
    assert {r.code for r in refusals} == {"rate_limited"}
    assert Verification.objects.count() == 5
    assert len(sms_outbox) == 5


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_never_pass_the_organisation_quota(sms_outbox):
    organisation = make_organisation(name="Small Quota", daily_quota=3)
    operators = [make_member(organisation) for _ in range(10)]
    numbers = iter(mobiles(10))
    queue = list(operators)
    lock = threading.Lock()

    def one_start():
        with lock:
            operator, number = queue.pop(), next(numbers)
        return start(organisation, operator, mobile=number)

    results = run_together(10, one_start)
    refusals = [r for r in results if isinstance(r, services.VerificationRefused)]
    assert [r.code for r in refusals] == ["quota_exceeded"] * 7
    assert Verification.objects.count() == 3
