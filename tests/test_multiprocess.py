"""Two app servers, one state: two gunicorn processes on two ports share the test's
PostgreSQL database and Redis. A verification started on one is confirmed on the other, and
the per-mobile OTP limit holds across both. App servers keep nothing that matters in
memory, so more of them behind a load balancer is how the service grows."""

import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import make_beneficiary, make_member, make_organisation
from tests.processes import AppServer, Browser, portal_environment, sms_sent
from verification.models import Verification

PASSWORD = "password-for-tests"
PER_MOBILE_PER_HOUR = 3

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.REDIS_URL,
        reason="needs PostgreSQL and Redis shared by two processes; "
        "set DATABASE_URL to PostgreSQL and REDIS_URL",
    ),
    pytest.mark.django_db(transaction=True),
]


@contextmanager
def app_servers(tmp_path: Path, count: int = 2):
    env = portal_environment(
        tmp_path,
        REDIS_URL=settings.REDIS_URL,
        KYVS_TASK_BACKEND="immediate",
        KYVS_OTPS_PER_MOBILE_PER_HOUR=str(PER_MOBILE_PER_HOUR),
    )
    servers = [AppServer(env, tmp_path / f"gunicorn-{n}.log") for n in range(count)]
    try:
        for server in servers:
            server.start()
        yield [server.url for server in servers]
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def operator(db):
    organisation = make_organisation(name="Two Counter Travels")
    return make_member(organisation, "counter-operator")


def test_a_verification_started_on_one_server_is_confirmed_on_the_other(tmp_path, operator):
    asha = make_beneficiary(name="Asha Patel", mobile="9876543210")
    with app_servers(tmp_path) as (a, b):
        browser = Browser()
        status, headers, _ = browser.post_form(
            f"{a}/accounts/login/", {"username": operator.username, "password": PASSWORD}
        )
        assert status == 302, "sign-in on A failed"

        status, headers, page = browser.post_form(
            f"{a}/verify/",
            {"full_name": "asha  PATEL", "mobile_number": "+91 98765 43210", "purpose": "travel"},
        )
        assert status == 302, page[:1000]
        consent_path = headers["Location"]
        verification = Verification.objects.get()
        assert str(verification.public_id) in consent_path

        (message,) = sms_sent(tmp_path)
        assert message["to"] == asha.mobile
        code = re.search(r"\b(\d{6})\b", message["body"]).group(1)

        status, headers, page = browser.post_form(f"{b}{consent_path}", {"otp": code})
        assert status == 302, page[:1000]
        status, _, page = browser.request(f"{b}{headers['Location']}")
        assert status == 200
        assert "Not vaccinated" in page
        verification.refresh_from_db()
        assert verification.state == Verification.State.VERIFIED


def test_the_per_mobile_otp_limit_holds_across_both_servers(tmp_path, operator):
    make_beneficiary(name="Ravi Kumar", mobile="9123456780")
    with app_servers(tmp_path) as servers:
        browser = Browser()
        status, _, _ = browser.post_form(
            f"{servers[0]}/accounts/login/",
            {"username": operator.username, "password": PASSWORD},
        )
        assert status == 302
        statuses = []
        for i in range(2 * PER_MOBILE_PER_HOUR):
            server = servers[i % 2]
            status, _, _ = browser.post_form(
                f"{server}/verify/",
                {"full_name": "Ravi Kumar", "mobile_number": "9123456780", "purpose": "travel"},
            )
            statuses.append(status)
    assert statuses.count(302) == PER_MOBILE_PER_HOUR, statuses
    assert statuses[PER_MOBILE_PER_HOUR:] == [429] * PER_MOBILE_PER_HOUR, statuses
    assert len([m for m in sms_sent(tmp_path) if m["to"] == "9123456780"]) == PER_MOBILE_PER_HOUR
    assert Verification.objects.count() == PER_MOBILE_PER_HOUR
