"""Every API answer tells the client where it stands: RateLimit-Limit, RateLimit-Remaining
and RateLimit-Reset (draft-ietf-httpapi-ratelimit-headers) for the limit closest to biting,
the key's starts per window or the organisation's daily quota."""

import pytest

from tests.factories import make_organisation
from tests.verification.api_client import ApiClient, issue_key

pytestmark = pytest.mark.django_db

NAME, MOBILE = "Asha Patel", "9876543210"


def standing(response) -> tuple[int, int, int]:
    return tuple(
        int(response[h]) for h in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
    )


def test_every_answer_after_the_key_carries_the_headers(asha, sms_outbox):
    api = ApiClient(issue_key(make_organisation(daily_quota=1000)))
    answers = [
        api.generate(NAME, MOBILE),
        api.post("confirmOTP", {"txnId": "not-a-uuid", "otp": "123456"}),
        api.status("not-a-token"),
        api.post("generateOTP", raw=b"not json"),
    ]
    for response in answers:
        assert response.has_header("RateLimit-Remaining"), response.content


def test_each_start_uses_one_of_the_keys_starts(asha, sms_outbox, settings):
    settings.KYVS_STARTS_PER_ACTOR = 30
    api = ApiClient(issue_key(make_organisation(daily_quota=1000)))
    first = api.generate(NAME, MOBILE)
    second = api.generate(NAME, MOBILE)
    assert standing(first)[:2] == (30, 29)
    assert standing(second)[:2] == (30, 28)
    assert 0 < standing(second)[2] <= 2 * settings.KYVS_STARTS_WINDOW_SECONDS


def test_the_daily_quota_is_shown_when_it_is_closer_to_biting(asha, sms_outbox):
    api = ApiClient(issue_key(make_organisation(daily_quota=3)))
    response = api.generate(NAME, MOBILE)
    limit, remaining, reset = standing(response)
    assert (limit, remaining) == (3, 2)
    assert 0 < reset <= 24 * 3600


def test_a_refusal_carries_the_headers_too(asha, sms_outbox):
    api = ApiClient(issue_key(make_organisation(daily_quota=1)))
    api.generate(NAME, MOBILE)
    refused = api.generate(NAME, MOBILE)
    assert refused.status_code == 429
    assert standing(refused)[:2] == (1, 0)


def test_an_answer_without_a_valid_key_carries_none(db):
    response = ApiClient("kyvs_0000_nonsense").generate(NAME, MOBILE)
    assert response.status_code == 401
    assert not response.has_header("RateLimit-Remaining")
