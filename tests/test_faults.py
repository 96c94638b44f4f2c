"""The faults a production deployment meets, survived: real processes (gunicorn, the queue's
worker, Redis, PostgreSQL) started on loopback and stopped or killed mid-flow.

- A worker killed while sending: after a worker is back, the citizen has a valid code (or
  the verification says the SMS could not be sent); never a live code that was not
  delivered, never two live codes.
- Redis stops: starts answer 503 with Retry-After and write nothing; Redis returns: the
  flow works again, no app server restarted.
- PostgreSQL restarts: the same.
- The SMS gateway answers after 10 seconds: no page waits for it; the queue delivers after.

Every wait polls an observable condition with a deadline (tests/processes.py).
"""

import json
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import make_beneficiary, make_member, make_organisation
from tests.processes import (
    ROOT,
    AppServer,
    Browser,
    Gateway,
    PostgresCluster,
    QueueWorker,
    Redis,
    portal_environment,
    sms_sent,
    wait_for,
)
from verification.models import Verification

PASSWORD = "password-for-tests"
ASHA = {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"}

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL shared with processes of its own; set DATABASE_URL",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def operator(db):
    organisation = make_organisation(name="Fault Line Travels")
    make_beneficiary(name="Asha Patel", mobile="9876543210")
    return make_member(organisation, "fault-operator")


def signed_in(server_url: str, username: str) -> Browser:
    browser = Browser()
    status, _, page = browser.post_form(
        f"{server_url}/accounts/login/", {"username": username, "password": PASSWORD}
    )
    assert status == 302, page[:500]
    return browser


def start(browser: Browser, server_url: str):
    return browser.post_form(f"{server_url}/verify/", ASHA)


def confirm(browser: Browser, server_url: str, consent_path: str, code: str) -> int:
    status, _, _ = browser.post_form(f"{server_url}{consent_path}", {"otp": code})
    return status


def test_a_worker_killed_while_sending_leaves_one_live_code_and_it_was_delivered(
    tmp_path, operator
):
    gateway = Gateway()
    gateway.hold = 1  # the first SMS hangs until the worker sending it is dead
    env = portal_environment(
        tmp_path,
        REDIS_URL=settings.REDIS_URL,
        KYVS_TASK_BACKEND="database",
        KYVS_SMS_BACKEND="http",
        KYVS_SMS_HTTP_URL=gateway.url,
        KYVS_SMS_HTTP_TIMEOUT_SECONDS="30",
        KYVS_SMS_DELIVERY_LEASE_SECONDS="5",
    )
    server = AppServer(env, tmp_path / "gunicorn.log").start()
    first_worker = QueueWorker(env, tmp_path / "worker-1.log").start()
    second_worker = QueueWorker(env, tmp_path / "worker-2.log")
    try:
        browser = signed_in(server.url, operator.username)
        status, headers, _ = start(browser, server.url)
        assert status == 302
        verification = Verification.objects.get()

        wait_for("the worker sending the first SMS", gateway.received.is_set)
        first_worker.kill()
        gateway.release()
        verification.refresh_from_db()
        # The dead worker's code is in the database; nobody can have received it.
        assert verification.code_delivery == Verification.Delivery.SENDING

        second_worker.start()

        def delivered():
            verification.refresh_from_db()
            return verification.code_delivery == Verification.Delivery.SENT

        wait_for("a new worker to take over and deliver", delivered, limit=40)
        lost, delivered_code = gateway.codes()
        assert lost != delivered_code
        assert confirm(browser, server.url, headers["Location"], lost) == 422
        assert confirm(browser, server.url, headers["Location"], delivered_code) == 302
    finally:
        for process in (second_worker, first_worker, server):
            process.stop()
        gateway.close()


def test_with_redis_stopped_starts_answer_503_and_write_nothing_then_work_again(
    tmp_path, operator
):
    redis = Redis(tmp_path / "redis.log").start()
    env = portal_environment(tmp_path, REDIS_URL=redis.url, KYVS_TASK_BACKEND="immediate")
    server = AppServer(env, tmp_path / "gunicorn.log").start()
    try:
        browser = signed_in(server.url, operator.username)
        assert start(browser, server.url)[0] == 302

        redis.stop()
        csrf = browser.csrf_token(f"{server.url}/verify/")
        status, headers, page = browser.request(
            f"{server.url}/verify/", {"csrfmiddlewaretoken": csrf, **ASHA}
        )
        assert status == 503, page[:500]
        assert int(headers["Retry-After"]) > 0
        assert Verification.objects.count() == 1
        assert len(sms_sent(tmp_path)) == 1

        redis = Redis(tmp_path / "redis-again.log", port=redis.port).start()
        assert start(browser, server.url)[0] == 302
        assert Verification.objects.count() == 2
        assert server.alive()
    finally:
        server.stop()
        redis.stop()


def _manage(env: dict, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_with_postgresql_restarted_starts_answer_503_and_write_nothing_then_work_again(
    tmp_path,
):
    cluster = PostgresCluster().create()
    env = portal_environment(
        tmp_path,
        DATABASE_URL=cluster.url,
        REDIS_URL=settings.REDIS_URL,
        KYVS_TASK_BACKEND="immediate",
    )
    server = None
    try:
        _manage(env, "migrate", "--noinput")
        _manage(
            env, "create_provider", "--name", "Restart Travels", "--kind", "travel_agency",
            "--purposes", "travel", "--operator", "restart-operator", "--password", PASSWORD,
        )  # fmt: skip
        registry = tmp_path / "registry.csv"
        registry.write_text(
            "beneficiary_reference_id,name,mobile,birth_year,gender,vaccine,dose_number,"
            "dose_kind,dose_date,centre,district,state\n"
            "12345678900001,Asha Patel,9876543210,1990,F,,,,,,,\n"
        )
        _manage(env, "import_registry", str(registry))
        count_rows = "from verification.models import Verification as V; print(V.objects.count())"

        server = AppServer(env, tmp_path / "gunicorn.log").start()
        browser = signed_in(server.url, "restart-operator")
        assert start(browser, server.url)[0] == 302
        csrf = browser.csrf_token(f"{server.url}/verify/")

        cluster.stop()
        status, headers, page = browser.request(
            f"{server.url}/verify/", {"csrfmiddlewaretoken": csrf, **ASHA}
        )
        assert status == 503, page[:500]
        assert int(headers["Retry-After"]) > 0
        api = browser.request(
            f"{server.url}/api/v3/vaccination/generateOTP", {"x": "y"}, {"X-Api-Key": "kyvs_x"}
        )
        assert api[0] == 503 and json.loads(api[2])["errorCode"] == "SRV0003"

        cluster.start()
        assert start(browser, server.url)[0] == 302
        assert _manage(env, "shell", "-c", count_rows).split()[-1] == "2"
        assert len(sms_sent(tmp_path)) == 2
        assert server.alive()
    finally:
        if server is not None:
            server.stop()
        cluster.destroy()


def test_a_gateway_that_answers_after_ten_seconds_holds_up_no_page(tmp_path, operator):
    gateway = Gateway(delay=10)
    gateway.hold = 1
    env = portal_environment(
        tmp_path,
        REDIS_URL=settings.REDIS_URL,
        KYVS_TASK_BACKEND="database",
        KYVS_SMS_BACKEND="http",
        KYVS_SMS_HTTP_URL=gateway.url,
        KYVS_SMS_HTTP_TIMEOUT_SECONDS="15",
    )
    server = AppServer(env, tmp_path / "gunicorn.log").start()
    worker = QueueWorker(env, tmp_path / "worker.log").start()
    try:
        browser = signed_in(server.url, operator.username)
        status, headers, _ = start(browser, server.url)
        assert status == 302
        wait_for("the worker to reach the slow gateway", gateway.received.is_set)
        # The gateway has the SMS and has not answered; the pages answer all the same.
        status, _, page = browser.request(f"{server.url}{headers['Location']}")
        assert status == 200 and "••••••3210" in page
        assert start(browser, server.url)[0] == 302
        assert not gateway.answered.is_set()

        def drained():
            return Verification.objects.filter(code_delivery="sent").count() == 2

        wait_for("the queue to deliver both codes", drained, limit=40)
        assert [r["to"] for r in gateway.requests] == ["+919876543210"] * 2
        assert re.fullmatch(r"\d{6}", gateway.codes()[1])
    finally:
        worker.stop()
        server.stop()
        gateway.close()
