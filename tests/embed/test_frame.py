"""The embedded page's frames, played with the test client: who may open what, the
single-use URL, the message to the parent, and no difference between a match and none."""

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from providers.models import ApiKey
from tests.concurrency import run_together
from tests.conftest import otp_from, poll_address, requires_postgresql
from tests.embed.helpers import (
    ORIGIN,
    create_session,
    csp_of,
    in_frame,
    issue_key,
    path_of,
    register,
    session_status,
)
from tests.factories import give_totp_device, make_member
from verification.models import EmbedSession, Verification

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(organisation):
    register(organisation, ORIGIN, "https://hr.sahyatri.example")
    return issue_key(organisation)


def opened(body: dict) -> tuple[Client, str]:
    """A frame that opened the session's URL, and the page it landed on."""
    frame = Client()
    response = frame.get(path_of(body["url"]), follow=True)
    assert response.status_code == 200, response.content
    return frame, response.redirect_chain[-1][0]


def message_of(response) -> tuple[dict, str] | None:
    html = response.content.decode()
    found = re.search(r'data-kyvs-message="([^"]*)" data-kyvs-target-origin="([^"]*)"', html)
    if not found:
        return None
    unescaped = found.group(1).replace("&quot;", '"').replace("&amp;", "&")
    return json.loads(unescaped), found.group(2)


# --- the URL works once ----------------------------------------------------------------------


def test_a_reused_session_url_is_refused(key):
    body = create_session(key).json()
    opened(body)
    again = Client().get(path_of(body["url"]))
    assert again.status_code == 410
    assert "This link has already been used" in again.content.decode()
    # Said inside the frame: the page may still be framed by the session's origin.
    assert csp_of(again)["frame-ancestors"] == [ORIGIN]


def test_an_expired_session_url_is_refused(key):
    body = create_session(key).json()
    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=1), tick=False):
        response = Client().get(path_of(body["url"]))
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    assert EmbedSession.objects.get().opened_at is None


def test_an_unknown_url_is_refused_and_may_not_be_framed(key):
    response = Client().get("/embed/s/" + "A" * 43)
    assert response.status_code == 404
    assert csp_of(response)["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"


@requires_postgresql
@pytest.mark.django_db(transaction=True)
def test_of_two_frames_opening_the_url_at_once_exactly_one_gets_it(organisation):
    register(organisation, ORIGIN)
    body = create_session(issue_key(organisation)).json()
    path = path_of(body["url"])

    statuses = run_together(2, lambda: Client().get(path).status_code)

    assert sorted(statuses) == [302, 410]


def test_opening_binds_only_the_frame_that_opened_it(key):
    body = create_session(key).json()
    frame, landed = opened(body)
    assert landed == f"/embed/session/{body['session_id']}/"
    stranger = Client()
    response = stranger.get(landed)
    assert response.status_code == 403
    assert stranger.post(landed, {"full_name": "Asha Patel"}).status_code == 403
    assert not Verification.objects.exists()


def test_the_session_frame_is_framed_by_its_own_origin_only(key):
    body = create_session(key, origin="https://hr.sahyatri.example").json()
    frame, landed = opened(body)
    response = frame.get(landed)
    assert csp_of(response)["frame-ancestors"] == ["https://hr.sahyatri.example"]
    assert "X-Frame-Options" not in response.headers


# --- a key revoked, an organisation suspended ------------------------------------------------


def test_a_revoked_key_stops_its_sessions(key, asha, sms_outbox):
    body = create_session(key, full_name="Asha Patel", mobile_number="9876543210").json()
    unopened = create_session(key).json()
    frame, consent = opened(body)
    ApiKey.objects.get().revoke()

    response = frame.post(consent, {"otp": otp_from(sms_outbox[-1])})
    assert response.status_code == 403
    assert "cannot verify customers at present" in response.content.decode()
    assert Verification.objects.get().state == Verification.State.OTP_SENT
    assert Client().get(path_of(unopened["url"])).status_code == 403


def test_a_suspended_organisation_stops_its_sessions(
    key, organisation, asha, sms_outbox, registry_admin
):
    body = create_session(key, full_name="Asha Patel", mobile_number="9876543210").json()
    unopened = create_session(key).json()
    frame, consent = opened(body)
    organisation.suspend(registry_admin, "Complaints under review.")

    assert frame.post(consent, {"otp": otp_from(sms_outbox[-1])}).status_code == 403
    assert Client().get(path_of(unopened["url"])).status_code == 403


# --- the message to the parent ---------------------------------------------------------------


def test_the_message_goes_to_the_sessions_origin_and_nowhere_else(key, asha, sms_outbox):
    body = create_session(
        key,
        origin="https://hr.sahyatri.example",
        full_name="Asha Patel",
        mobile_number="9876543210",
    ).json()
    frame, consent = opened(body)
    assert message_of(frame.get(consent)) is None  # nothing to tell yet
    result = frame.post(consent, {"otp": otp_from(sms_outbox[-1])}, follow=True)

    message, target = message_of(result)
    assert target == "https://hr.sahyatri.example"
    verification = Verification.objects.get()
    assert message == {
        "type": "kyvs.verification.finished",
        "session_id": body["session_id"],
        "txnId": str(verification.public_id),
        "outcome": "verified",
        "vaccination_status": 0,
        "receipt": message["receipt"],
    }
    assert message["receipt"].count(".") == 2
    # Shown once: reloading shows nothing of the customer, and tells nobody again.
    again = frame.get(result.redirect_chain[-1][0])
    assert again.status_code == 410 and message_of(again) is None


def test_the_script_posts_to_the_origin_it_is_given_and_never_to_anyone(client):
    script = open("static/js/embed.js").read()  # noqa: SIM115
    [call] = re.findall(r"postMessage\(.*\);", script)
    assert call.endswith(", target);")
    assert 'target === "*"' in script  # a "*" written by mistake is never used


def test_an_operators_frame_tells_no_parent(client, organisation, bob, asha, sms_outbox):
    register(organisation, ORIGIN)
    client.force_login(bob)
    in_frame(client)
    start = f"/embed/{organisation.public_id}/"
    consent = client.post(
        start, {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"}
    )["Location"]
    result = client.post(consent, {"otp": otp_from(sms_outbox[-1])}, follow=True)
    assert "Status code 0 of 2" in result.content.decode()
    assert message_of(result) is None


def test_a_cancelled_session_tells_its_parent_cancelled(key, asha, sms_outbox):
    body = create_session(key, full_name="Asha Patel", mobile_number="9876543210").json()
    frame, consent = opened(body)
    closed = frame.post(f"/embed/session/{body['session_id']}/cancel/", follow=True)
    message, target = message_of(closed)
    assert (message["outcome"], message["vaccination_status"], message["receipt"]) == (
        "cancelled",
        None,
        None,
    )
    assert target == ORIGIN


# --- approve on the citizen's own phone -------------------------------------------------------


def _approve_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/c/[A-Za-z0-9_\-]+/[A-Za-z0-9_\-]+)", message.body)[1]


def test_a_session_frame_follows_an_approval_on_the_phone_and_its_back_end_gets_the_result(
    key, asha, sms_outbox
):
    body = create_session(key, full_name="Asha Patel", mobile_number="9876543210").json()
    frame, consent = opened(body)
    state_url = poll_address(frame, consent)
    # The poll names the verification by its token, not by the frame's session.
    assert Client().get(state_url).json() == {"waiting": True, "next": ""}

    Client().post(_approve_link(sms_outbox[-1]), {"answer": "approve"})

    state = Client().get(state_url).json()
    assert state == {"waiting": False, "next": f"/embed/session/{body['session_id']}/result/"}
    result = frame.get(state["next"])
    message, _target = message_of(result)
    assert (message["outcome"], message["vaccination_status"]) == ("verified", 0)
    assert frame.get(state["next"]).status_code == 410  # shown once
    # The back end fetches the same result, however often, after the frame showed it.
    for _ in range(2):
        status = session_status(key, body["session_id"]).json()
        assert (status["outcome"], status["vaccination_status"]) == ("verified", 0)
        assert status["receipt"] == message["receipt"]


def test_an_operators_frame_follows_an_approval_on_the_phone(
    client, organisation, bob, asha, sms_outbox
):
    register(organisation, ORIGIN)
    client.force_login(bob)
    in_frame(client)
    consent = client.post(
        f"/embed/{organisation.public_id}/",
        {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"},
    )["Location"]
    poll = poll_address(client, consent)
    assert Client().get(poll).json() == {"waiting": True, "next": ""}
    Client().post(_approve_link(sms_outbox[-1]), {"answer": "approve"})
    state = Client().get(poll).json()
    assert state == {"waiting": False, "next": consent + "result/"}
    # A frame drawn before the token still polls through its session.
    assert client.get(consent + "state/").json() == state
    assert "Status code 0 of 2" in client.get(state["next"]).content.decode()


def test_a_decline_on_the_phone_ends_the_session_as_declined(key, asha, sms_outbox):
    body = create_session(key, full_name="Asha Patel", mobile_number="9876543210").json()
    frame, consent = opened(body)
    poll = poll_address(frame, consent)
    Client().post(_approve_link(sms_outbox[-1]), {"answer": "decline"})
    assert Client().get(poll).json() == {"waiting": False, "next": consent}
    state = frame.get(f"/embed/session/{body['session_id']}/state/").json()
    assert state == {"waiting": False, "next": consent}
    message, _target = message_of(frame.get(consent))
    assert message["outcome"] == "declined"


def test_another_organisations_frame_cannot_read_the_state(
    client, organisation, bob, charlie, asha, sms_outbox
):
    register(organisation, ORIGIN)
    client.force_login(bob)
    in_frame(client)
    consent = client.post(
        f"/embed/{organisation.public_id}/",
        {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"},
    )["Location"]
    stranger = Client()
    stranger.force_login(charlie)
    in_frame(stranger)
    assert stranger.get(consent + "state/").status_code in (403, 404)


# --- a match and no match look the same ------------------------------------------------------


def _screen(html: str) -> str:
    """The page with what differs between any two verifications taken out: ids, the CSRF
    token, the code's expiry time."""
    html = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "ID", html)
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    html = re.sub(r'data-poll-url="[^"]+"', "POLL", html)  # names its own verification
    return re.sub(r"\b\d\d:\d\d\b", "TIME", html)


@pytest.mark.parametrize("with_form", [False, True])
def test_a_match_and_no_match_look_the_same_inside_the_frame(key, asha, sms_outbox, with_form):
    screens = []
    for name in ("Asha Patel", "Nobody Known"):
        if with_form:
            body = create_session(key).json()
            frame, landed = opened(body)
            form = frame.post(landed, {"full_name": name, "mobile_number": "9876543210"})
            consent = form["Location"]
        else:
            body = create_session(key, full_name=name, mobile_number="9876543210").json()
            frame, consent = opened(body)
        first = frame.get(consent)
        wrong = frame.post(consent, {"otp": "000000"})
        screens.append([(r.status_code, _screen(r.content.decode())) for r in (first, wrong)])
    assert screens[0] == screens[1]
    assert "That code is not right." in screens[0][1][1]
    assert len(sms_outbox) == 1


# --- the session's form ----------------------------------------------------------------------


def test_the_session_form_starts_one_verification_for_the_sessions_purpose(key, asha, sms_outbox):
    body = create_session(key, purpose="service").json()
    frame, landed = opened(body)
    page = frame.get(landed).content.decode()
    assert 'type="radio"' not in page and "Service" in page
    details = {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"}
    first = frame.post(landed, details)
    second = frame.post(landed, details)
    assert first.status_code == second.status_code == 302
    verification = Verification.objects.get()
    assert verification.purpose == "service"  # the session's, whatever the form says
    assert EmbedSession.objects.get().verification == verification
    assert len(sms_outbox) == 1


def test_a_refused_start_is_said_in_the_frame(key, organisation):
    body = create_session(key).json()
    organisation.daily_quota = 0
    organisation.save()
    frame, landed = opened(body)
    response = frame.post(landed, {"full_name": "Asha Patel", "mobile_number": "9876543210"})
    assert response.status_code == 429
    assert "used today" in response.content.decode()
    assert "Retry-After" in response.headers


# --- an operator's frame: who may ------------------------------------------------------------


def test_an_anonymous_visitor_is_asked_to_sign_in_inside_the_frame(client, organisation):
    register(organisation, ORIGIN)
    start = f"/embed/{organisation.public_id}/"
    response = client.get(start)
    assert response.status_code == 302
    assert response["Location"] == f"{start}sign-in/?next=%2Fembed%2F{organisation.public_id}%2F"


def test_an_operator_of_another_organisation_is_refused(client, organisation, charlie):
    register(organisation, ORIGIN)
    client.force_login(charlie)
    response = in_frame(client).get(f"/embed/{organisation.public_id}/")
    assert response.status_code == 403
    assert "You are signed in for another organisation" in response.content.decode()


def test_the_second_factor_is_asked_inside_the_frame(client, organisation):
    register(organisation, ORIGIN)
    admin = make_member(organisation, "meera", role="admin")
    give_totp_device(admin)
    client.login(username="meera", password="password-for-tests")
    in_frame(client)
    start = f"/embed/{organisation.public_id}/"
    response = client.get(start)
    assert response["Location"].startswith(f"{start}two-factor/?next=")
    page = client.get(response["Location"])
    assert page.status_code == 200 and "Enter your code" in page.content.decode()
    assert csp_of(page)["frame-ancestors"][0] == ORIGIN


def test_an_operator_who_must_enrol_is_sent_to_the_portal_to_do_it(client, organisation):
    register(organisation, ORIGIN)
    organisation.require_operator_two_factor = True
    organisation.save()
    make_member(organisation, "ravi")
    client.login(username="ravi", password="password-for-tests")
    in_frame(client)
    start = f"/embed/{organisation.public_id}/"
    response = client.get(start, follow=True)
    assert response.redirect_chain[-1][0].startswith(f"{start}two-factor/setup/")
    assert 'href="/accounts/two-factor/setup/" target="_blank"' in response.content.decode()


def test_the_operator_verifies_in_the_frame(client, organisation, bob, asha, sms_outbox):
    register(organisation, ORIGIN)
    client.force_login(bob)
    in_frame(client)
    start = f"/embed/{organisation.public_id}/"
    response = client.post(
        start, {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"}
    )
    verification = Verification.objects.get()
    assert response["Location"] == f"{start}{verification.public_id}/"
    assert verification.channel == Verification.Channel.EMBED and verification.operator == bob


def test_a_frame_sees_only_its_organisations_own_operator_verifications(
    client, organisation, other_organisation, bob, charlie, asha, sms_outbox, key
):
    register(other_organisation, "https://rail.example")
    in_frame(client.force_login(charlie) or client)
    other_start = f"/embed/{other_organisation.public_id}/"
    client.post(
        other_start,
        {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"},
    )
    theirs = Verification.objects.get()
    client.force_login(bob)
    in_frame(client)
    start = f"/embed/{organisation.public_id}/"
    assert client.get(f"{start}{theirs.public_id}/").status_code == 404
    # An embed session's verification belongs to that session's frame only.
    create_session(key, full_name="Asha Patel", mobile_number="9876543210")
    sessions = Verification.objects.filter(embed_session__isnull=False).get()
    assert client.get(f"{start}{sessions.public_id}/").status_code == 404
    assert client.post(f"{start}{sessions.public_id}/cancel/").status_code == 404
