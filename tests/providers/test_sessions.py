from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.providers.helpers import links_in

pytestmark = pytest.mark.django_db


def test_an_operators_session_ends_after_30_idle_minutes(client, bob, settings):
    assert settings.KYVS_OPERATOR_IDLE_MINUTES == 30
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post("/accounts/login/", {"username": "bob", "password": "password-for-tests"})
        assert client.get("/verify/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        assert client.get("/verify/").status_code == 200
    # Each request starts the wait again: 58 minutes after signing in, 29 after the last.
    with time_machine.travel(start + timedelta(minutes=58), tick=False):
        assert client.get("/verify/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=89), tick=False):
        response = client.get("/verify/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_admins_session_is_not_cut_short_by_the_operator_rule(client, alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(alice)
    with time_machine.travel(start + timedelta(minutes=45), tick=False):
        assert client.get("/console/").status_code == 200


def test_a_password_can_be_reset_by_e_mail(client, bob):
    bob.email = "bob@sahyatri.example"
    bob.save()
    response = client.post("/accounts/password-reset/", {"email": "bob@sahyatri.example"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    [link] = links_in(mail.outbox[0])
    reset = Client()
    form = reset.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = reset.post(
        form.redirect_chain[-1][0],
        {"new_password1": "jalebi-fafda-2024", "new_password2": "jalebi-fafda-2024"},
    )
    assert done["Location"] == "/accounts/password-reset/done/"
    assert Client().login(username="bob", password="jalebi-fafda-2024")


def test_asking_for_a_reset_does_not_tell_whether_an_account_exists(client, bob):
    response = client.post("/accounts/password-reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_the_sign_in_page_offers_a_password_reset(client):
    assert "/accounts/password-reset/" in client.get("/accounts/login/").content.decode()


def test_signing_in_remembers_the_language_of_the_screen(client, bob, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "gu"
    client.post("/accounts/login/", {"username": "bob", "password": "password-for-tests"})
    bob.membership.refresh_from_db()
    assert bob.membership.language == "gu"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    client.post("/accounts/login/", {"username": "bob", "password": "password-for-tests"})
    bob.membership.refresh_from_db()
    assert bob.membership.language == "hi"


def session_writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "django_session"')]


def test_an_operators_session_is_written_at_most_once_a_minute(client, bob):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(bob)
        assert client.get("/verify/").status_code == 200
    with (
        time_machine.travel(start + timedelta(seconds=59), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        assert client.get("/verify/").status_code == 200
    assert session_writes(queries.captured_queries) == []
    with (
        time_machine.travel(start + timedelta(seconds=60), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        assert client.get("/verify/").status_code == 200
    assert len(session_writes(queries.captured_queries)) == 1


def test_an_operators_session_may_end_up_to_a_minute_before_its_idle_time(client, bob):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.force_login(bob)
        assert client.get("/verify/").status_code == 200
    # Within the minute: not written, so its end stays 30 minutes after the first request.
    with time_machine.travel(start + timedelta(seconds=50), tick=False):
        assert client.get("/verify/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=30, seconds=1), tick=False):
        response = client.get("/verify/")
    assert response["Location"].startswith("/accounts/login/")
