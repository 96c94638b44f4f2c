"""Password-reset e-mails are limited per address typed and per client address
(kyvs.limits PASSWORD_RESETS_PER_ADDRESS, PASSWORD_RESETS_PER_IP). A request over a limit is
answered exactly as any other, and sends nothing."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings

from kyvs import limits
from tests.providers.test_login_limits import CLOSED_REDIS

pytestmark = pytest.mark.django_db

RESET = "/accounts/password-reset/"
SENT = "/accounts/password-reset/sent/"


def ask(client, email, ip="203.0.113.7"):
    return client.post(RESET, {"email": email}, REMOTE_ADDR=ip)


def test_the_sixth_request_for_one_address_within_the_hour_sends_nothing(
    client, bob_by_mail, clock, settings
):
    assert settings.KYVS_PASSWORD_RESETS_PER_ADDRESS == 5
    for n in range(5):
        assert ask(client, "bob@sahyatri.example")["Location"] == SENT
        assert len(mail.outbox) == n + 1
    sixth = ask(client, "bob@sahyatri.example")
    assert (sixth.status_code, sixth["Location"]) == (302, SENT)
    assert len(mail.outbox) == 5


def test_an_answer_over_the_limit_reads_as_one_under_it(client, bob_by_mail, clock):
    under = ask(client, "bob@sahyatri.example")
    for _ in range(5):
        over = ask(client, "bob@sahyatri.example")
    assert (over.status_code, over["Location"]) == (under.status_code, under["Location"])


SPELLINGS = ["bob@sahyatri.example", "BOB@Sahyatri.example", " Bob@sahyatri.example "]


def test_other_spellings_of_the_address_share_its_count(client, bob_by_mail, clock):
    for n in range(6):
        ask(client, SPELLINGS[n % 3])
    assert len(mail.outbox) == 5


def test_an_unknown_address_is_counted_as_a_known_one_is(client, bob_by_mail, clock):
    for address in ("bob@sahyatri.example", "nobody@sahyatri.example"):
        for _ in range(5):
            ask(client, address)
        assert limits.peek(limits.PASSWORD_RESETS_PER_ADDRESS, address).remaining == 0


def test_an_address_may_ask_again_once_the_hour_has_passed(client, bob_by_mail, clock):
    for _ in range(6):
        ask(client, "bob@sahyatri.example")
    assert len(mail.outbox) == 5
    clock.shift(timedelta(hours=2))
    ask(client, "bob@sahyatri.example")
    assert len(mail.outbox) == 6


def test_twenty_requests_from_one_client_address_stop_its_further_requests(
    client, bob_by_mail, clock, settings
):
    assert settings.KYVS_PASSWORD_RESETS_PER_IP == 20
    for n in range(20):
        ask(client, f"guess{n}@sahyatri.example")
    assert ask(client, "bob@sahyatri.example")["Location"] == SENT
    assert mail.outbox == []
    # Another client address is not affected, and the refused request used up nothing of
    # the address's own allowance.
    ask(client, "bob@sahyatri.example", ip="198.51.100.9")
    assert len(mail.outbox) == 1


def test_a_request_refused_for_its_address_uses_up_nothing_of_the_client_address(
    client, bob_by_mail, clock
):
    for _ in range(6):
        ask(client, "bob@sahyatri.example")
    assert limits.peek(limits.PASSWORD_RESETS_PER_IP, "203.0.113.7").remaining == 20 - 5


def test_with_the_cache_down_a_reset_sends_nothing_and_says_to_try_again(client, bob_by_mail):
    with override_settings(CACHES=CLOSED_REDIS):
        response = ask(client, "bob@sahyatri.example")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert mail.outbox == []
