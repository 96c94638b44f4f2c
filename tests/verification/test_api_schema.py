"""The OpenAPI document against the implementation, with schemathesis: generated requests
(valid and invalid) to every operation must never meet a server error, and every response
must be one the document describes. Bounded and derandomised, so it runs the same each time."""

from datetime import date

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from kyvs.wsgi import application
from tests.conftest import otp_from
from tests.factories import add_dose, make_beneficiary, make_organisation
from tests.verification.api_client import issue_key, sha256
from verification.api_errors import ERRORS
from verification.models import Beneficiary, EmbedSession
from verification.openapi import openapi_document
from verification.refusals import Refusal

schema = schemathesis.openapi.from_wsgi("/api/v3/openapi.json", application)


@pytest.fixture(autouse=True)
def _requests_keep_the_tests_connection():
    """Calling the WSGI app directly fires request_started/finished, whose handler closes a
    connection inside a transaction, which is where each test runs; Django's test client
    unhooks it for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(db):
    organisation = make_organisation(scopes=["vaccinations", "demographics"])
    make_beneficiary(name="Asha Patel", mobile="9876543210")
    return issue_key(organisation)


@schema.parametrize()
@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_every_generated_request_as_its_openapi_document_says(
    case, api_key, sms_outbox
):
    # Whether a string is an Indian mobile or a name (any script, separators, +91 ...) is a
    # rule of the registry, not something JSON Schema can state exactly: the document says
    # "string, at most 20 characters" and answers 400 for the rest. So a schema-valid body
    # may be refused; everything else is checked, negative data rejection included.
    case.call_and_validate(
        headers={"X-Api-Key": api_key},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )


def test_a_whole_verification_with_every_scope_answers_as_the_document_says(api_key, sms_outbox):
    """The generated requests rarely reach a real match; this walks one through, so the
    200 answers with events and demographics are checked against the document too."""
    add_dose(Beneficiary.objects.get(name="Asha Patel"), "Covishield", 1, date(2021, 5, 1))

    def call(path, method, headers=None, **kwargs):
        case = schema[path][method].Case(
            headers={"X-Api-Key": api_key, **(headers or {})}, **kwargs
        )
        return case.call_and_validate()

    started = call(
        "/api/v3/vaccination/generateOTP",
        "POST",
        body={"full_name": "Asha Patel", "mobile_number": "9876543210"},
        media_type="application/json",
    )
    txn_id = started.json()["txnId"]
    confirmed = call(
        "/api/v3/vaccination/confirmOTP",
        "POST",
        body={"txnId": txn_id, "otp": sha256(otp_from(sms_outbox[-1]))},
        media_type="application/json",
    )
    status = call(
        "/api/v3/vaccination/status",
        "GET",
        headers={"Authorization": f"Bearer {confirmed.json()['token']}"},
    )

    body = status.json()
    assert body["vaccination_status"] == 1
    assert body["vaccinations"][0]["vaccine"] == "Covishield"
    assert body["beneficiary"]["name"] == "Asha Patel"


def test_the_docs_page_lists_every_error_code_with_curl_and_python_examples(client):
    page = client.get("/api/docs/").content.decode()

    for error in ERRORS.values():
        assert f'<td class="mono">{error.code}</td>' in page
    assert "curl -s -X POST" in page
    assert "import hashlib" in page
    assert "/api/v3/openapi.json" in page


def test_the_document_names_every_error_code_the_api_can_answer():
    text = str(openapi_document())
    for refusal in Refusal:
        assert f"`{refusal.api_error.code}`" in text, refusal


def test_an_embed_session_answers_as_the_document_says(db, sms_outbox):
    organisation = make_organisation()
    organisation.set_embed_origins(["https://booking.example.com"])
    make_beneficiary(name="Asha Patel", mobile="9876543210")
    key = issue_key(organisation)
    operation = schema["/api/v3/embed/sessions"]["POST"]
    for body in (
        {"origin": "https://booking.example.com", "purpose": "travel"},
        {
            "origin": "https://booking.example.com",
            "purpose": "travel",
            "full_name": "Asha Patel",
            "mobile_number": "9876543210",
        },
        {"origin": "https://elsewhere.example.com", "purpose": "travel"},
    ):
        made = operation.Case(
            headers={"X-Api-Key": key}, body=body, media_type="application/json"
        ).call_and_validate()
    assert made.status_code == 403
    assert EmbedSession.objects.count() == 2
    for session in EmbedSession.objects.all():
        answer = (
            schema["/api/v3/embed/sessions/{session_id}"]["GET"]
            .Case(
                headers={"X-Api-Key": key}, path_parameters={"session_id": str(session.public_id)}
            )
            .call_and_validate()
        )
        assert answer.json()["session_id"] == str(session.public_id)
