"""The session key is renewed at every privilege change: at the password, at the second
factor (both in the person's own request), and a role changed by someone else ends the
member's sessions, so the new role comes only with a new sign-in (providers/sessions.py)."""

from importlib import import_module

import pytest
from django.conf import settings
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import make_member, totp_now

pytestmark = pytest.mark.django_db

PASSWORD = "password-for-tests"
VERIFY = "/accounts/two-factor/"
SETUP = "/accounts/two-factor/setup/"


def session_key(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def as_session(key: str) -> Client:
    """Another browser presenting the session key `key`: someone who learnt it."""
    other = Client()
    other.cookies[settings.SESSION_COOKIE_NAME] = key
    return other


def session_exists(key: str) -> bool:
    return import_module(settings.SESSION_ENGINE).SessionStore().exists(key)


def sign_in(client, username):
    return client.post("/accounts/login/", {"username": username, "password": PASSWORD})


def test_the_session_key_is_renewed_at_the_password(client, bob):
    session = client.session  # an anonymous session, with a key
    session["before"] = True
    session.save()
    before = session.session_key
    sign_in(client, "bob")
    assert session_key(client) != before
    assert not session_exists(before)
    assert as_session(before).get("/verify/").status_code == 302


def test_the_session_key_is_renewed_when_the_second_factor_is_passed(client, alice):
    sign_in(client, "alice")
    after_password = session_key(client)
    device = TOTPDevice.objects.get(user=alice)
    response = client.post(VERIFY, {"code": totp_now(device), "next": "/console/"})
    assert response["Location"] == "/console/"
    assert session_key(client) != after_password
    assert client.get("/console/").status_code == 200
    # The key learnt between the two steps has not gained the second factor's rights.
    assert not session_exists(after_password)
    assert as_session(after_password).get("/console/")["Location"].startswith("/accounts/login/")


def test_the_session_key_is_renewed_when_an_authenticator_app_is_enrolled(client, organisation):
    erin = make_member(organisation, "erin", role="admin")
    sign_in(client, "erin")
    client.get(SETUP)
    after_password = session_key(client)
    device = TOTPDevice.objects.get(user=erin, confirmed=False)
    assert client.post(SETUP, {"code": totp_now(device)}).status_code == 302
    assert session_key(client) != after_password
    assert not session_exists(after_password)
    assert client.get("/console/").status_code == 200


def test_a_member_promoted_by_the_admin_signs_in_again_for_the_new_role(client, alice, bob):
    bobs_desk = Client()
    sign_in(bobs_desk, "bob")
    old_key = session_key(bobs_desk)
    assert bobs_desk.get("/verify/").status_code == 200
    client.force_login(alice)
    client.post(f"/console/members/{bob.membership.public_id}/role/", {"role": "admin"})

    # Neither the member's browser nor anyone holding its key gets the admin's rights.
    response = bobs_desk.get("/console/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "Your role has changed. Please sign in again." in response.content.decode()
    assert not session_exists(old_key)
    assert as_session(old_key).get("/console/")["Location"].startswith("/accounts/login/")
    # Signing in again gives a new key, and the new role asks for its second factor.
    sign_in(bobs_desk, "bob")
    assert session_key(bobs_desk) != old_key
    assert bobs_desk.get("/console/")["Location"].startswith(SETUP)


def test_a_member_demoted_by_the_admin_is_signed_out_too(client, alice, organisation):
    erin = make_member(organisation, "erin", role="admin")
    erins_laptop = Client()
    erins_laptop.force_login(erin)
    client.force_login(alice)
    client.post(f"/console/members/{erin.membership.public_id}/role/", {"role": "operator"})
    assert erins_laptop.get("/verify/")["Location"].startswith("/accounts/login/")


def test_an_unchanged_role_keeps_the_session(client, alice, bob):
    bobs_desk = Client()
    bobs_desk.force_login(bob)
    client.force_login(alice)
    client.post(f"/console/members/{bob.membership.public_id}/role/", {"role": "operator"})
    assert bobs_desk.get("/verify/").status_code == 200


def test_a_registry_flag_given_in_the_admin_ends_the_sessions_too(bob):
    bobs_desk = Client()
    bobs_desk.force_login(bob)
    bob.is_staff = True
    bob.save()
    assert bobs_desk.get("/verify/")["Location"].startswith("/accounts/login/")
