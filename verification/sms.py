"""SMS backends, chosen by KYVS_SMS_BACKEND as Django chooses e-mail backends."""

import fcntl
import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SmsMessage:
    to: str  # 10-digit Indian mobile
    body: str
    sent_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


class SmsError(Exception):
    """The message could not be handed to the gateway."""


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


def get_backend() -> BaseBackend:
    return import_string(settings.KYVS_SMS_BACKEND)()


def send_sms(to: str, body: str) -> None:
    get_backend().send(SmsMessage(to=to, body=body))
