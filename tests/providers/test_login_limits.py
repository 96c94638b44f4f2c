import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
CLOSED_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


@pytest.fixture
def clock():
    with time_machine.travel(datetime(2026, 3, 2, 5, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def sign_in(client, username, password, ip="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_a_wrong_password_is_answered_without_a_limit_at_first(client, bob):
    response = sign_in(client, "bob", "wrong")
    assert response.status_code == 200
    assert not signed_in(client)


def test_five_failures_for_an_account_refuse_even_the_right_password_from_a_new_browser(
    client, bob, clock
):
    for _ in range(5):
        assert sign_in(client, "bob", "wrong").status_code == 200
    response = sign_in(client, "bob", "password-for-tests")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert not signed_in(client)


def test_four_failures_still_let_the_right_password_in(client, bob, clock):
    for _ in range(4):
        sign_in(client, "bob", "wrong")
    assert sign_in(client, "bob", "password-for-tests").status_code == 302
    assert signed_in(client)


def test_the_account_can_sign_in_again_once_the_window_has_passed(client, bob, clock):
    for _ in range(5):
        sign_in(client, "bob", "wrong")
    clock.shift(timedelta(minutes=15, seconds=1))
    assert sign_in(client, "bob", "password-for-tests").status_code == 302


def test_the_account_limit_does_not_depend_on_the_letter_case_typed(client, bob, clock):
    for name in ["bob", "BOB", "Bob", "bOb", " bob "]:
        sign_in(client, name, "wrong")
    assert sign_in(client, "bob", "password-for-tests").status_code == 429


def test_the_refusal_reads_the_same_whether_or_not_the_account_exists(client, bob, clock):
    for _ in range(5):
        sign_in(client, "bob", "wrong")
        sign_in(client, "nobody-here", "wrong")
    existing = sign_in(client, "bob", "wrong")
    missing = sign_in(client, "nobody-here", "wrong")
    assert existing.status_code == missing.status_code == 429
    assert _errors(existing) == _errors(missing)


def _errors(response) -> list[str]:
    # The wait differs by name (django-ratelimit staggers windows by key), never by existence.
    return [re.sub(r"\d+", "N", str(e)) for e in response.context["form"].non_field_errors()]


def test_twenty_failures_from_one_address_refuse_every_account_from_it(client, bob, clock):
    for n in range(20):
        assert sign_in(client, f"guess{n}", "wrong").status_code == 200
    assert sign_in(client, "bob", "password-for-tests").status_code == 429
    # Another address is not affected.
    assert sign_in(client, "bob", "password-for-tests", ip="198.51.100.9").status_code == 302


def test_nineteen_failures_from_one_address_still_let_a_right_password_in(client, bob, clock):
    for n in range(19):
        sign_in(client, f"guess{n}", "wrong")
    assert sign_in(client, "bob", "password-for-tests").status_code == 302


@override_settings(KYVS_TRUSTED_PROXY_HEADER="X-Forwarded-For")
def test_behind_a_proxy_the_address_the_proxy_added_is_the_one_limited(client, bob, clock):
    for n in range(20):
        # The client forges the left part; the proxy appends the address it saw.
        client.post(
            LOGIN,
            {"username": f"guess{n}", "password": "wrong"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.7",
        )
    limited = client.post(
        LOGIN,
        {"username": "bob", "password": "password-for-tests"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.200, 203.0.113.7",
    )
    assert limited.status_code == 429
    other = client.post(
        LOGIN,
        {"username": "bob", "password": "password-for-tests"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.9",
    )
    assert other.status_code == 302


def test_with_the_cache_down_sign_in_answers_503_and_does_not_sign_in(client, bob):
    with override_settings(CACHES=CLOSED_REDIS):
        response = sign_in(client, "bob", "password-for-tests")
    assert response.status_code == 503
    assert "try again shortly" in response.content.decode()
    assert not signed_in(client)
