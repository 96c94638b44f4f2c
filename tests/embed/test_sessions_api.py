"""POST /api/v3/embed/sessions and GET /api/v3/embed/sessions/<id>."""

import uuid
from datetime import datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from providers.models import ApiKey
from tests.conftest import otp_from
from tests.embed.helpers import (
    ORIGIN,
    create_session,
    issue_key,
    path_of,
    register,
    session_status,
)
from verification.models import EmbedSession, Verification

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(organisation):
    register(organisation, ORIGIN)
    return issue_key(organisation)


def test_a_session_is_made_for_a_registered_origin(key, organisation):
    before = timezone.now()
    response = create_session(key)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"session_id", "url", "expires_at"}
    session = EmbedSession.objects.get()
    assert body["session_id"] == str(session.public_id)
    assert body["url"].startswith("http://testserver/embed/s/")
    token = body["url"].rsplit("/", 1)[1]
    # 32 random bytes, and only a keyed digest of them kept.
    assert len(token) >= 43
    assert session.token_digest == EmbedSession.digest_of(token) != token
    assert token not in str(EmbedSession.objects.values().get())
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(minutes=4, seconds=59) < expires - before <= timedelta(minutes=5, seconds=1)
    assert (session.organisation, session.origin, session.purpose) == (
        organisation,
        ORIGIN,
        "travel",
    )
    assert session.api_key == ApiKey.objects.get() and session.verification is None


def test_each_session_has_a_url_of_its_own(key):
    urls = {create_session(key).json()["url"] for _ in range(3)}
    assert len(urls) == 3


def test_with_the_customers_details_the_verification_starts_at_once(key, asha, sms_outbox):
    response = create_session(key, full_name="Asha Patel", mobile_number="+91 98765 43210")
    assert response.status_code == 201
    verification = EmbedSession.objects.get().verification
    assert verification.channel == Verification.Channel.EMBED
    assert verification.api_key == ApiKey.objects.get() and verification.operator is None
    assert verification.beneficiary == asha
    assert [m.to for m in sms_outbox] == ["9876543210"]


def test_no_match_answers_exactly_as_a_match(key, asha, sms_outbox):
    matched = create_session(key, full_name="Asha Patel", mobile_number="9876543210")
    unmatched = create_session(key, full_name="Nobody Known", mobile_number="9876543210")
    assert matched.status_code == unmatched.status_code == 201
    assert set(matched.json()) == set(unmatched.json())
    assert len(sms_outbox) == 1  # only the match got a code


@pytest.mark.parametrize(
    "body",
    [
        {"origin": "https://not-theirs.example"},
        {"origin": "https://booking.sahyatri.example:8443"},
    ],
)
def test_an_unregistered_origin_is_refused(key, body):
    response = create_session(key, **body)
    assert response.status_code == 403
    assert response.json()["errorCode"] == "EMBED0001"
    assert not EmbedSession.objects.exists()


def test_an_origin_of_another_organisation_is_refused(key, other_organisation):
    register(other_organisation, "https://rail.example")
    response = create_session(key, origin="https://rail.example")
    assert response.status_code == 403 and response.json()["errorCode"] == "EMBED0001"


def test_a_registered_origin_is_found_however_it_is_written(key):
    assert create_session(key, origin="HTTPS://Booking.Sahyatri.example:443/").status_code == 201


def test_a_suspended_organisation_is_refused(key, organisation, registry_admin):
    organisation.suspend(registry_admin, "Complaints under review.")
    response = create_session(key)
    assert response.status_code == 403
    assert response.json()["errorCode"] == "APIKEY0003"
    assert not EmbedSession.objects.exists()


def test_a_revoked_key_is_refused(key):
    ApiKey.objects.get().revoke()
    response = create_session(key)
    assert response.status_code == 401 and response.json()["errorCode"] == "APIKEY0002"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"origin": "not an origin"}, "origin:"),
        ({"origin": 7}, "origin: must be a string."),
        ({"purpose": "gossip"}, "purpose: must be one of"),
        ({"purpose": None}, "purpose: must be a string."),
        ({"full_name": "Asha Patel"}, "mobile_number"),
        ({"full_name": "Asha Patel", "mobile_number": "12345"}, "mobile_number:"),
    ],
)
def test_a_malformed_body_is_refused_naming_the_field(key, body, words):
    response = create_session(key, **body)
    assert response.status_code == 400
    assert response.json()["errorCode"] == "APPIN0002"
    assert words in response.json()["error"]


def test_a_purpose_the_organisation_may_not_state_is_refused(key):
    response = create_session(key, purpose="employment")
    assert response.status_code == 403 and response.json()["errorCode"] == "PURPOSE0001"


def test_the_daily_quota_is_the_organisations_as_everywhere(key, organisation):
    organisation.daily_quota = 0
    organisation.save()
    response = create_session(key)
    assert response.status_code == 429 and response.json()["errorCode"] == "RATE0002"


# --- GET: the outcome, for the back end --------------------------------------------------------


def verify_in_frame(session_body: dict, code: str) -> Client:
    frame = Client()
    frame.get(path_of(session_body["url"]))
    consent = f"/embed/session/{session_body['session_id']}/consent/"
    response = frame.post(consent, {"otp": code})
    assert response.status_code == 302, response.content
    return frame


def test_the_back_end_learns_the_outcome_status_and_receipt(key, asha, sms_outbox):
    body = create_session(key, full_name="Asha Patel", mobile_number="9876543210").json()
    pending = session_status(key, body["session_id"])
    assert pending.status_code == 200
    verification = Verification.objects.get()
    assert pending.json() == {
        "session_id": body["session_id"],
        "origin": ORIGIN,
        "purpose": "travel",
        "expires_at": body["expires_at"],
        "opened_at": None,
        "txnId": str(verification.public_id),
        "outcome": None,
        "vaccination_status": None,
        "receipt": None,
    }

    verify_in_frame(body, otp_from(sms_outbox[-1]))
    answer = session_status(key, body["session_id"]).json()
    assert answer["outcome"] == "verified" and answer["vaccination_status"] == 0
    assert answer["receipt"].count(".") == 2 and answer["opened_at"] is not None
    # It may be asked again while the result is held...
    assert session_status(key, body["session_id"]).json() == answer
    # ...and afterwards says how it ended, with no status.
    later = timezone.now() + timedelta(seconds=301)
    with time_machine.travel(later, tick=False):
        gone = session_status(key, body["session_id"]).json()
    assert gone["outcome"] == "verified"
    assert gone["vaccination_status"] is None and gone["receipt"] is None


def test_a_failed_verification_is_told_as_failed(key, asha, sms_outbox):
    body = create_session(key, full_name="Asha Patel", mobile_number="9876543210").json()
    frame = Client()
    frame.get(path_of(body["url"]))
    for _ in range(5):
        frame.post(f"/embed/session/{body['session_id']}/consent/", {"otp": "000000"})
    answer = session_status(key, body["session_id"]).json()
    assert answer["outcome"] == "failed" and answer["receipt"] is None


def test_only_the_key_that_made_a_session_sees_it(key, organisation, other_organisation):
    body = create_session(key).json()
    for other in (issue_key(organisation), issue_key(other_organisation)):
        response = session_status(other, body["session_id"])
        assert response.status_code == 404
        assert response.json()["errorCode"] == "EMBED0002"
    assert session_status(key, str(uuid.uuid4())).status_code == 404
    assert session_status(key, body["session_id"]).status_code == 200


def test_expired_sessions_are_refused_at_the_url_not_forgotten_by_the_api(key):
    body = create_session(key).json()
    with time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False):
        assert session_status(key, body["session_id"]).status_code == 200
        assert Client().get(path_of(body["url"])).status_code == 410


def test_the_document_the_docs_page_and_the_readme_cover_both_endpoints(client):
    from pathlib import Path

    from verification.openapi import openapi_document

    paths = openapi_document()["paths"]
    assert "post" in paths["/api/v3/embed/sessions"]
    assert "get" in paths["/api/v3/embed/sessions/{session_id}"]
    docs = client.get("/api/docs/").content.decode()
    readme = Path(__file__).resolve().parents[2].joinpath("README.md").read_text()
    for text in (docs, readme):
        assert 'curl -s -X POST "$BASE/api/v3/embed/sessions"' in text or (
            "curl -s https://HOST/api/v3/embed/sessions" in text
        )
        assert "/api/v3/embed/sessions/" in text
