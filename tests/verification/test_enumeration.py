"""Nobody can learn from a start whether a name and number are registered: a match, no
match and two matches get the same answer, and the request does the same work (one job of the
same shape is enqueued in every case: tests/verification/test_task_queue.py). The timing half
of the proof is scripts/bench_enumeration.py, which runs many starts against a slow gateway."""

import re
from datetime import UTC, datetime

import pytest
import time_machine

from tests.factories import make_beneficiary

pytestmark = pytest.mark.django_db

# Same last four digits, so the masked number on the consent page is the same.
CASES = {
    "match": ("Asha Patel", "9876543210"),
    "no match": ("Asha Patel", "9123453210"),
    "two matches": ("Ravi Shah", "9000003210"),
}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TOKENS = re.compile(r'(name="csrfmiddlewaretoken" value=|nonce=|data-poll-url=)"[^"]*"')
_HEADERS = ["Content-Type", "Location", "Cache-Control", "Expires", "Retry-After", "Vary"]


@pytest.fixture
def registry(asha):
    make_beneficiary(name="Ravi Shah", mobile="9000003210")
    make_beneficiary(name="Ravi Shah", mobile="9000003210")


def normalised(response) -> dict:
    headers = {h: _UUID.sub("<id>", response[h]) for h in _HEADERS if response.has_header(h)}
    body = _TOKENS.sub(r"\1<token>", _UUID.sub("<id>", response.content.decode()))
    cookies = sorted(response.cookies)
    return {"status": response.status_code, "headers": headers, "cookies": cookies, "body": body}


def answers_for(client, operator, name, mobile) -> tuple[dict, dict]:
    client.force_login(operator)
    with time_machine.travel(datetime(2026, 3, 2, 4, 30, tzinfo=UTC), tick=False):
        start = client.post(
            "/verify/", {"full_name": name, "mobile_number": mobile, "purpose": "travel"}
        )
        consent = client.get(start["Location"])
    return normalised(start), normalised(consent)


def test_match_no_match_and_two_matches_get_the_same_answer_and_page(
    client, organisation, bob, registry, sms_outbox
):
    answers = {case: answers_for(client, bob, *details) for case, details in CASES.items()}
    assert answers["match"][0]["status"] == 302
    assert answers["match"][1]["status"] == 200
    assert "••••••3210" in answers["match"][1]["body"]
    assert answers["no match"] == answers["match"]
    assert answers["two matches"] == answers["match"]
    assert [m.to for m in sms_outbox] == ["9876543210"]
