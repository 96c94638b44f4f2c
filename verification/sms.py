"""SMS backends, chosen by KYVS_SMS_BACKEND as Django chooses e-mail backends."""

import fcntl
import json
import logging
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMessage:
    to: str  # 10-digit Indian mobile
    body: str
    sent_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


class SmsError(Exception):
    """The message could not be handed to the gateway. `retryable`: the same message may
    succeed later (the gateway was busy, down or slow), so it is worth trying again."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class BaseBackend:
    def send(self, message: SmsMessage) -> None:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Prints each message: for development, where the OTP is read off the terminal."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, message: SmsMessage) -> None:
        self.stream.write(f"SMS to {message.to}: {message.body}\n")
        self.stream.flush()


class FileBackend(BaseBackend):
    """Appends one JSON object per line to KYVS_SMS_FILE; safe across processes."""

    def send(self, message: SmsMessage) -> None:
        line = json.dumps(asdict(message), ensure_ascii=False) + "\n"
        with open(settings.KYVS_SMS_FILE, "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                fh.write(line)
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


outbox: list[SmsMessage] = []


class LocmemBackend(BaseBackend):
    """Keeps messages in `verification.sms.outbox`, for tests."""

    def send(self, message: SmsMessage) -> None:
        outbox.append(message)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a redirect is an answer we did not ask for: treat it as a failure


class HttpBackend(BaseBackend):
    """POSTs each message as JSON to an SMS gateway (KYVS_SMS_HTTP_URL):

        {"to": "+919876543210", "sender": KYVS_SMS_SENDER_ID, "text": "...",
         "dlt_template_id": KYVS_SMS_DLT_TEMPLATE_ID, "dlt_entity_id": KYVS_SMS_DLT_ENTITY_ID}

    with `Authorization: Bearer KYVS_SMS_HTTP_TOKEN`. Indian operators drop commercial SMS
    whose template and principal entity are not registered on the DLT platform, hence the
    two ids. Any 2xx answer means the gateway took the message.

    A 5xx or 429 answer, a connection that could not be made and an answer that did not
    come in KYVS_SMS_HTTP_TIMEOUT_SECONDS raise a retryable SmsError: the task queue tries
    again later (verification/delivery.py). Any other answer (a 4xx, a redirect) says the
    request itself is wrong and is not retried. A retried message carries a new code, so a
    gateway that did send the first one after all leaves only a void code behind.
    """

    def __init__(self):
        self.url = settings.KYVS_SMS_HTTP_URL
        self.timeout = settings.KYVS_SMS_HTTP_TIMEOUT_SECONDS
        self.opener = urllib.request.build_opener(_NoRedirects)

    def _request(self, message: SmsMessage) -> urllib.request.Request:
        payload = {
            "to": "+91" + message.to,
            "sender": settings.KYVS_SMS_SENDER_ID,
            "text": message.body,
            "dlt_template_id": settings.KYVS_SMS_DLT_TEMPLATE_ID,
            "dlt_entity_id": settings.KYVS_SMS_DLT_ENTITY_ID,
        }
        return urllib.request.Request(  # noqa: S310 (the URL is the operator's setting)
            self.url,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
                "Authorization": f"Bearer {settings.KYVS_SMS_HTTP_TOKEN}",
            },
        )

    def send(self, message: SmsMessage) -> None:
        try:
            with self.opener.open(self._request(message), timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            retryable = exc.code == 429 or exc.code >= 500
            raise SmsError(f"gateway answered {exc.code}", retryable=retryable) from None
        except urllib.error.URLError as exc:
            # urllib wraps errors of connecting and sending in URLError; errors while
            # waiting for the answer come through bare (below).
            reason = type(exc.reason).__name__
            raise SmsError(f"gateway not reached: {reason}", retryable=True) from None
        except OSError as exc:  # a timeout or a dropped connection while answering
            raise SmsError(
                f"gateway did not answer: {type(exc).__name__}", retryable=True
            ) from None


def get_backend() -> BaseBackend:
    return import_string(settings.KYVS_SMS_BACKEND)()


def send_sms(to: str, body: str) -> None:
    get_backend().send(SmsMessage(to=to, body=body))
