"""The `http` SMS backend against a real HTTP server on 127.0.0.1, and what a gateway
failure does to a verification."""

import json
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
    """A local SMS gateway. `answer` is "ok", "error" (500), "busy" (429), "bad" (400),
    "redirect" or "slow" (answers only after the test has finished, i.e. never within the
    client's timeout); `answers`, when not empty, gives the next answers in turn first."""

    def __init__(self):
        self.answer = "ok"
        self.answers: list[str] = []
        self.requests: list[dict] = []
        self.release = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                answer = gateway.answers.pop(0) if gateway.answers else gateway.answer
                if answer == "slow":
                    gateway.release.wait(10)
                status = {
                    "ok": 200,
                    "error": 500,
                    "busy": 429,
                    "bad": 400,
                    "redirect": 302,
                    "slow": 200,
                }[answer]
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


@pytest.mark.parametrize(("answer", "code"), [("error", "500"), ("busy", "429")])
def test_a_5xx_or_429_answer_is_an_error_worth_trying_again(gateway, answer, code):
    gateway.answer = answer
    with pytest.raises(sms.SmsError, match=code) as caught:
        send()
    assert caught.value.retryable
    assert len(gateway.requests) == 1  # the queue tries again, not the backend


@pytest.mark.parametrize(("answer", "code"), [("bad", "400"), ("redirect", "302")])
def test_another_answer_is_an_error_not_worth_trying_again(gateway, answer, code):
    gateway.answer = answer
    with pytest.raises(sms.SmsError, match=code) as caught:
        send()
    assert not caught.value.retryable
    assert len(gateway.requests) == 1


def test_a_gateway_slower_than_the_timeout_is_an_error_worth_trying_again(gateway):
    gateway.answer = "slow"
    started = datetime.now(UTC)
    with pytest.raises(sms.SmsError, match="did not answer") as caught:
        send()
    assert caught.value.retryable
    assert datetime.now(UTC) - started < timedelta(seconds=3)
    assert len(gateway.requests) == 1


def test_a_refused_connection_is_an_error_worth_trying_again(gateway, settings):
    settings.KYVS_SMS_HTTP_URL = closed_port_url()
    with pytest.raises(sms.SmsError, match="ConnectionRefusedError") as caught:
        send()
    assert caught.value.retryable


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


def test_a_gateway_that_recovers_gets_the_code_on_a_later_try(organisation, bob, asha, gateway):
    gateway.answers = ["error", "busy"]
    verification = start(organisation, bob)
    assert verification.state == Verification.State.OTP_SENT
    assert verification.code_delivery == Verification.Delivery.SENT
    assert len(gateway.requests) == 3
    codes = [OTP_RE.search(r["body"]["text"]).group(1) for r in gateway.requests]
    # Each try carries a new code; only the one delivered works.
    assert len(set(codes)) == 3
    assert not services.confirm_verification(verification, codes[0]).ok
    assert services.confirm_verification(verification, codes[2]).ok


def test_a_4xx_answer_fails_the_verification_without_trying_again(
    organisation, bob, asha, gateway
):
    gateway.answer = "bad"
    verification = start(organisation, bob)
    assert verification.state == Verification.State.FAILED
    assert len(gateway.requests) == 1


def test_tries_stop_after_the_last_attempt_allowed(organisation, bob, asha, gateway, settings):
    settings.KYVS_SMS_MAX_ATTEMPTS = 3
    gateway.answer = "error"
    verification = start(organisation, bob)
    assert verification.failure_reason == Verification.FailureReason.SMS_NOT_SENT
    assert len(gateway.requests) == 3


def test_a_job_for_a_code_asked_for_again_meanwhile_sends_nothing(
    organisation, bob, asha, sms_outbox
):
    with time_machine.travel(datetime(2026, 3, 2, 4, 30, tzinfo=UTC), tick=False) as clock:
        verification = start(organisation, bob)
        clock.shift(timedelta(seconds=31))
        services.resend_otp(verification)
        live = Verification.objects.get(pk=verification.pk).otp_hash
        # The start's job, run again late: its code is no longer the one wanted.
        assert delivery.deliver_code.call(str(verification.public_id), 0, []) == "moot"
    assert len(sms_outbox) == 2
    assert Verification.objects.get(pk=verification.pk).otp_hash == live


def test_a_late_failure_does_not_void_a_newer_code(organisation, bob, asha, sms_outbox):
    verification = start(organisation, bob)
    outcome = delivery._after_failure(
        str(verification.public_id), 0, [], "an-older-hash", retryable=False
    )
    assert outcome == "moot"
    row = Verification.objects.get(pk=verification.pk)
    assert row.state == Verification.State.OTP_SENT
    assert row.otp_hash == verification.otp_hash
