"""Two app servers, one state: two gunicorn processes on two ports share the test's
PostgreSQL database and Redis. A verification started on one is confirmed on the other, and
the per-mobile OTP limit holds across both. App servers keep nothing that matters in
memory, so more of them behind a load balancer is how the service grows."""

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import make_beneficiary, make_member, make_organisation
from verification.models import Verification

ROOT = Path(__file__).resolve().parent.parent
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test_<name>)."""
    db = connection.settings_dict
    user = urllib.parse.quote(db["USER"] or "")
    password = ":" + urllib.parse.quote(db["PASSWORD"]) if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


def signing_key(path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def wait_until_serving(
    process: subprocess.Popen, port: int, log: Path, limit: float = 30.0
) -> None:
    """Poll /healthz until it answers 200, the process dies, or `limit` seconds pass."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn on {port} exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:  # refused, reset or timed out while the worker boots
            pass
        time.sleep(0.1)  # between polls only; readiness is the answer, not the wait
    raise RuntimeError(f"gunicorn on {port} did not answer within {limit}s")


@contextmanager
def app_servers(tmp_path: Path, count: int = 2):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kyvs.test_settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "KYVS_SMS_BACKEND": "file",
        "KYVS_SMS_FILE": str(tmp_path / "sms.jsonl"),
        "KYVS_TASK_BACKEND": "immediate",
        "KYVS_SIGNING_KEY_FILE": str(signing_key(tmp_path / "signing-key.pem")),
        "KYVS_SIGNING_KEY_GENERATE": "false",
        "KYVS_OTPS_PER_MOBILE_PER_HOUR": str(PER_MOBILE_PER_HOUR),
        "KYVS_LOG_FORMAT": "json",
    }
    processes: list[tuple[subprocess.Popen, int, Path]] = []
    try:
        for n in range(count):
            port = free_port()
            # A file, not a pipe: a pipe nobody reads would block the server once full.
            log = tmp_path / f"gunicorn-{n}.log"
            with log.open("wb") as err:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "kyvs.wsgi:application",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "1",
                        "--chdir",
                        str(ROOT),
                    ],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
            processes.append((process, port, log))
        for process, port, log in processes:
            wait_until_serving(process, port, log)
        yield [f"http://127.0.0.1:{port}" for _, port, _ in processes]
    finally:
        for process, _, _ in processes:
            process.terminate()
        for process, _, _ in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One operator's browser: its cookies go to every server, as behind a load balancer."""

    def __init__(self):
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def request(self, url: str, data: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            response = self.opener.open(url, data=body, timeout=15)
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            response = error
        with response:
            return response.status, response.headers, response.read().decode()

    def csrf_token(self, url: str) -> str:
        status, _, page = self.request(url)
        assert status == 200, page[:500]
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def post_form(self, page_url: str, data: dict, action: str | None = None):
        token = self.csrf_token(page_url)
        return self.request(action or page_url, {"csrfmiddlewaretoken": token, **data})


def sms_sent(tmp_path: Path) -> list[dict]:
    path = tmp_path / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


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
