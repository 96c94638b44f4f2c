"""The `http` SMS backend against a real HTTP server on 127.0.0.1, and what a gateway
failure does to a verification."""

import json
import logging
import socket
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine

from tests.conftest import OTP_RE
from verification import delivery, services, sms
from verification.models import Verification

pytestmark = pytest.mark.django_db


class Gateway:
    """A local SMS gateway. `answer` is "ok", "error", "redirect" or "slow" (answers only
    after the test has finished, i.e. never within the client's timeout)."""

    def __init__(self):
        self.answer = "ok"
        self.requests: list[dict] = []
        self.release = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                if gateway.answer == "slow":
                    gateway.release.wait(10)
                status = {"ok": 200, "error": 500, "redirect": 302, "slow": 200}[gateway.answer]
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "queued"}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/sms"


@pytest.fixture
def gateway(settings):
    server = Gateway()
    settings.KYVS_SMS_BACKEND = "verification.sms.HttpBackend"
    settings.KYVS_SMS_HTTP_URL = server.url
    settings.KYVS_SMS_HTTP_TOKEN = "gateway-token-for-tests"
    settings.KYVS_SMS_SENDER_ID = "KYVSIN"
    settings.KYVS_SMS_DLT_TEMPLATE_ID = "1107160000000000001"
    settings.KYVS_SMS_DLT_ENTITY_ID = "1101160000000000002"
    settings.KYVS_SMS_HTTP_TIMEOUT_SECONDS = 1
    yield server
    server.close()


def send(body="123456 is your OTP"):
    sms.send_sms("9876543210", body)


# The backend


def test_the_gateway_receives_json_with_bearer_token_sender_and_dlt_ids(gateway):
    send("123456 is your OTP. ગુજરાતી")
    [request] = gateway.requests
    assert request["path"] == "/v1/sms"
    assert request["headers"]["Authorization"] == "Bearer gateway-token-for-tests"
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert request["body"] == {
        "to": "+919876543210",
        "sender": "KYVSIN",
        "text": "123456 is your OTP. ગુજરાતી",
        "dlt_template_id": "1107160000000000001",
        "dlt_entity_id": "1101160000000000002",
    }


def test_a_500_answer_is_an_error_and_is_not_retried(gateway):
    gateway.answer = "error"
    with pytest.raises(sms.SmsError, match="500"):
        send()
    assert len(gateway.requests) == 1


def test_a_redirect_is_an_error_and_is_not_followed(gateway):
    gateway.answer = "redirect"
    with pytest.raises(sms.SmsError, match="302"):
        send()
    assert len(gateway.requests) == 1


def test_a_gateway_slower_than_the_timeout_is_an_error_and_is_not_retried(gateway):
    gateway.answer = "slow"
    started = datetime.now(UTC)
    with pytest.raises(sms.SmsError, match="did not answer"):
        send()
    assert datetime.now(UTC) - started < timedelta(seconds=3)
    assert len(gateway.requests) == 1


def test_a_refused_connection_is_tried_once_more_and_then_is_an_error(gateway, settings, caplog):
    settings.KYVS_SMS_HTTP_URL = closed_port_url()
    with (
        caplog.at_level(logging.WARNING, logger="verification.sms"),
        pytest.raises(sms.SmsError, match="ConnectionRefusedError"),
    ):
        send()
    retries = [r for r in caplog.records if "trying once more" in r.getMessage()]
    assert len(retries) == 1


def test_the_http_backend_is_registered_by_name(settings):
    assert settings.SMS_BACKENDS["http"] == "verification.sms.HttpBackend"


# A gateway failure in the verification flow


def start(organisation, operator):
    return services.start_verification(
        organisation=organisation,
        operator=operator,
        full_name="Asha Patel",
        mobile="9876543210",
        purpose="travel",
    )


def test_a_start_the_gateway_refuses_is_failed_and_its_code_void(organisation, bob, asha, gateway):
    gateway.answer = "error"
    verification = start(organisation, bob)
    assert verification.state == Verification.State.FAILED
    assert verification.failure_reason == Verification.FailureReason.SMS_NOT_SENT
    row = Verification.objects.get(pk=verification.pk)
    assert row.state == Verification.State.FAILED
    assert row.otp_hash == ""
    code = OTP_RE.search(gateway.requests[0]["body"]["text"]).group(1)
    assert not services.confirm_verification(row, code).ok


def test_the_operator_is_told_plainly_that_the_sms_was_not_sent(
    client, organisation, bob, asha, gateway
):
    gateway.answer = "error"
    client.force_login(bob)
    response = client.post(
        "/verify/",
        {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"},
        follow=True,
    )
    assert response.status_code == 200
    assert "The SMS could not be sent" in response.content.decode()


def test_unsent_codes_do_not_use_up_the_citizens_allowance(organisation, bob, asha, gateway):
    gateway.answer = "error"
    for _ in range(6):
        assert start(organisation, bob).state == Verification.State.FAILED
    gateway.answer = "ok"
    for _ in range(5):
        assert start(organisation, bob).state == Verification.State.OTP_SENT
    with pytest.raises(services.VerificationRefused, match="rate_limited"):
        start(organisation, bob)


def test_a_resend_the_gateway_refuses_fails_the_verification_and_voids_every_code(
    client, organisation, bob, asha, gateway
):
    with time_machine.travel(datetime(2026, 3, 2, 4, 30, tzinfo=UTC), tick=False) as clock:
        verification = start(organisation, bob)
        first = OTP_RE.search(gateway.requests[0]["body"]["text"]).group(1)
        gateway.answer = "error"
        clock.shift(timedelta(seconds=31))
        client.force_login(bob)
        response = client.post(f"/verify/{verification.public_id}/resend/", follow=True)
    row = Verification.objects.get(pk=verification.pk)
    assert row.state == Verification.State.FAILED
    assert row.failure_reason == Verification.FailureReason.SMS_NOT_SENT
    assert row.otp_hash == ""
    assert not services.confirm_verification(row, first).ok
    page = response.content.decode()
    assert "The SMS could not be sent" in page
    assert "A new code has been sent" not in page


def test_a_late_failure_does_not_void_a_newer_code(organisation, bob, asha, sms_outbox):
    verification = start(organisation, bob)
    stale = delivery.OtpJob(
        verification_pk=verification.pk, otp_hash="an-older-hash", mobile="9876543210", body=""
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(delivery, "send_sms", _failing_send)
        assert delivery.deliver(stale) is False
    assert Verification.objects.get(pk=verification.pk).state == Verification.State.OTP_SENT


def _failing_send(to, body):
    raise sms.SmsError("gateway answered 500")


# Sending after the answer (KYVS_SMS_QUEUE=thread)


class InlineExecutor:
    def submit(self, fn, *args):
        fn(*args)


def test_with_the_thread_queue_nothing_is_sent_before_the_start_commits(
    organisation, bob, asha, sms_outbox, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.KYVS_SMS_QUEUE = "thread"
    monkeypatch.setattr(delivery, "_executor", InlineExecutor)
    monkeypatch.setattr(delivery, "connections", _NoConnections())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        verification = start(organisation, bob)
        assert sms_outbox == []
    assert verification.state == Verification.State.OTP_SENT
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(sms_outbox) == 1


class _NoConnections:
    # The test's transaction holds the only connection; the job must not close it.
    def close_all(self):
        pass
