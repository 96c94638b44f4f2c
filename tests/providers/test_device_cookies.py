"""Guessing a password is slowed down without locking its owner out: a browser that signed
in to the account before (it holds a device cookie for it) is counted on its own, strangers
share the account's limit, and the owner is told by e-mail when strangers are stopped
(providers/device_cookies.py, providers/views/login.py)."""

from datetime import timedelta

import pytest
from django.core import mail, signing
from django.test import Client
from django_tasks_db.models import DBTaskResult

from providers import device_cookies, emails
from tests.embed.helpers import ORIGIN, register
from tests.factories import make_member

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PASSWORD = "password-for-tests"
DEVICE_COOKIE = "kyvs_device"


def sign_in(client, username="bob", password=PASSWORD, ip="203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def browser_that_signed_in(username="bob") -> Client:
    """A browser in which the account's owner signed in before, then signed out."""
    browser = Client()
    assert sign_in(browser, username, ip="198.51.100.20").status_code == 302
    browser.post("/accounts/logout/")
    return browser


def attack(username="bob", times=5):
    """A stranger types wrong passwords for `username`, from addresses of their own."""
    stranger = Client()
    for n in range(times):
        sign_in(stranger, username, "guess-" + str(n), ip=f"192.0.2.{n + 1}")
    return stranger


def test_a_browser_that_signed_in_before_signs_in_during_an_attack_while_a_stranger_is_throttled(
    clock, bob
):
    owners_browser = browser_that_signed_in()
    stranger = attack()
    assert sign_in(stranger, ip="192.0.2.99").status_code == 429
    assert sign_in(Client(), ip="192.0.2.100").status_code == 429  # any other stranger too
    response = sign_in(owners_browser, ip="198.51.100.20")
    assert response.status_code == 302
    assert "_auth_user_id" in owners_browser.session


def test_the_device_cookie_is_signed_and_names_no_account(clock, organisation):
    make_member(organisation, "bob@sahyatri.example")
    browser = browser_that_signed_in("bob@sahyatri.example")
    value = browser.cookies[DEVICE_COOKIE].value
    assert "sahyatri" not in value
    [[account, nonce, issued]] = signing.loads(value, salt=device_cookies.SALT)
    assert "sahyatri" not in account and len(nonce) >= 16


@pytest.mark.parametrize(
    "forge",
    [
        lambda value: "not-a-cookie",
        lambda value: value[:-2] + ("AA" if value[-2:] != "AA" else "BB"),  # altered
        lambda value: signing.dumps([["x" * 32, "n" * 22, 0]], salt=device_cookies.SALT),
    ],
)
def test_a_forged_altered_or_foreign_device_cookie_is_not_trusted(clock, bob, forge):
    browser = browser_that_signed_in()
    browser.cookies[DEVICE_COOKIE] = forge(browser.cookies[DEVICE_COOKIE].value)
    attack()
    assert sign_in(browser, ip="198.51.100.20").status_code == 429


def test_a_device_cookie_for_one_account_does_not_help_with_another(clock, organisation, bob):
    make_member(organisation, "dave")
    bobs_browser = browser_that_signed_in("bob")
    attack("dave")
    assert sign_in(bobs_browser, "dave").status_code == 429
    assert sign_in(bobs_browser, "bob").status_code == 302


def test_a_shared_desk_keeps_a_device_cookie_for_each_account(clock, organisation, bob):
    make_member(organisation, "dave")
    desk = browser_that_signed_in("bob")
    assert sign_in(desk, "dave").status_code == 302
    desk.post("/accounts/logout/")
    attack("bob")
    attack("dave")
    assert sign_in(desk, "bob").status_code == 302
    desk.post("/accounts/logout/")
    assert sign_in(desk, "dave").status_code == 302


def test_a_device_cookie_is_counted_and_locked_out_on_its_own(clock, bob):
    careless = browser_that_signed_in()
    other_device = browser_that_signed_in()
    for _ in range(5):
        assert sign_in(careless, password="wrong").status_code == 200
    assert sign_in(careless).status_code == 429
    # The owner's other browser, and even strangers, are not affected by it.
    assert sign_in(other_device).status_code == 302
    assert sign_in(Client(), ip="192.0.2.50").status_code == 302


def test_a_device_cookie_is_let_in_again_once_the_window_has_passed(clock, bob):
    careless = browser_that_signed_in()
    for _ in range(5):
        sign_in(careless, password="wrong")
    clock.shift(timedelta(minutes=15))
    assert sign_in(careless).status_code == 302


def test_the_owners_browser_is_not_stopped_by_failures_from_its_own_address(clock, bob):
    # An office behind one address: someone there guesses twenty names.
    owners_browser = browser_that_signed_in()
    colleague = Client()
    for n in range(20):
        sign_in(colleague, f"guess{n}", "wrong", ip="198.51.100.20")
    assert sign_in(Client(), ip="198.51.100.20").status_code == 429
    assert sign_in(owners_browser, ip="198.51.100.20").status_code == 302


def test_a_device_cookie_stops_being_trusted_after_its_days(clock, bob, settings):
    owners_browser = browser_that_signed_in()
    clock.shift(timedelta(days=settings.KYVS_DEVICE_COOKIE_DAYS, minutes=1))
    attack()
    assert sign_in(owners_browser).status_code == 429


def test_the_owner_is_e_mailed_once_when_strangers_are_stopped(clock, bob_by_mail):
    bob_by_mail.membership.language = "gu"
    bob_by_mail.membership.save()
    attack(times=4)
    assert mail.outbox == []
    attack(times=1)
    [message] = mail.outbox
    assert message.to == ["bob@sahyatri.example"]
    assert message.body.startswith("નમસ્તે,")
    assert "10:45" in message.body  # 05:15 UTC, when the window ends, in India
    # More guesses in the same window are refused unchecked and tell nobody again.
    attack(times=10)
    assert len(mail.outbox) == 1


def test_the_warning_reads_in_english_for_an_owner_whose_language_is_not_known(clock, bob_by_mail):
    attack()
    [message] = mail.outbox
    assert message.subject == "KYVS: wrong passwords are being typed for your account"
    assert "for your KYVS account bob." in message.body
    assert "The browsers you have signed in with before can still sign in" in message.body


def test_a_name_with_no_account_enqueues_the_same_warning_job(clock, bob_by_mail, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    attack("bob")
    attack("nobody-here")
    jobs = DBTaskResult.objects.filter(task_path=emails.deliver_sign_in_alert.module_path)
    assert sorted(job.args_kwargs["args"][0] for job in jobs) == ["bob", "nobody-here"]
    outcomes = sorted(emails.deliver_sign_in_alert.call(*job.args_kwargs["args"]) for job in jobs)
    assert outcomes == ["nobody", "sent"]


def test_the_frames_sign_in_trusts_a_browser_that_signed_in_there_before(clock, organisation, bob):
    register(organisation, ORIGIN)
    start = f"/embed/{organisation.public_id}/"
    url = f"{start}sign-in/?next={start}"
    frame = Client()
    frame.get(url)
    assert frame.post(url, {"username": "bob", "password": PASSWORD}).status_code == 302
    assert "kyvs_embed_device" in frame.cookies
    frame.post(f"{start}sign-out/")
    attack()
    stranger = Client()
    stranger.get(url)
    assert stranger.post(url, {"username": "bob", "password": PASSWORD}).status_code == 429
    frame.get(url)
    assert frame.post(url, {"username": "bob", "password": PASSWORD}).status_code == 302
