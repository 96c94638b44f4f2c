"""Log output: a filter that masks personal data and secrets, and a JSON-lines formatter.

The code never logs a full mobile, an OTP, a name, a token or an API key. The filter is a
second line of defence for what slips through anyway (a library's message, an exception's
text): it masks Indian mobiles down to their last four digits and replaces six-digit codes,
API keys, tokens and secrets given by name with a placeholder.
"""

import json
import logging
import re
from datetime import UTC, datetime

# A 10-digit Indian mobile, with or without +91 / 91 / 0 in front and with spaces or
# hyphens inside; not part of a longer run of letters and digits (an id, a hash).
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?91[\s-]*|0)?([6-9](?:[\s-]?\d){9})(?![0-9A-Za-z])")
_CODE = re.compile(r"(?<![0-9A-Za-z])\d{6}(?![0-9A-Za-z])")
# The visible prefix of an API key (kyvs_1a2b3c4d) is kept, so a leaked key can be found
# and revoked; the secret after it is not.
_API_KEY = re.compile(r"\b(kyvs_[0-9a-f]{1,11})_[A-Za-z0-9_\-]+")
_NAMED_SECRET = re.compile(
    r"(?i)\b(password|passwd|secret|token|otp|sessionid|session_key|csrftoken|csrfmiddlewaretoken"
    r"|api[_-]?key|authorization|bearer)(\"?\s*[:=]\s*\"?|\s+)(?!\[)((?:bearer\s+)?[^\s\"',;&]+)"
)
# Long random strings (session keys, CSRF tokens, bearer tokens, hashes) mix letters and
# digits; ordinary words and identifiers rarely do for 24 characters on end.
_RANDOM = re.compile(r"(?<![0-9A-Za-z])[A-Za-z0-9_\-]{24,}(?![0-9A-Za-z])")
# The token of an "approve on my phone" link (/c/<public id>/<token>, or /c/<token> as sent
# before; 128 bits: 22 characters, shorter than _RANDOM finds, and sometimes without a
# digit), in a logged path such as Django's "Gone: /c/...". Both segments go.
_APPROVE_LINK = re.compile(r"(/c/)[A-Za-z0-9_\-]+(?:/[A-Za-z0-9_\-]+)?")
# A verification's public id is meant to be quoted (it names no one), so it stays.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)

MASK = "[redacted]"


def _mask_mobile(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(1))
    return "******" + digits[-4:]


def _mask_random(match: re.Match) -> str:
    text = match.group(0)
    if _UUID.fullmatch(text):
        return text
    if any(c.isdigit() for c in text) and any(c.isalpha() for c in text):
        return MASK
    return text


def redact(text: str) -> str:
    """`text` with mobiles masked and codes, keys and tokens replaced."""
    text = _API_KEY.sub(lambda m: m.group(1) + "_" + MASK, text)
    text = _APPROVE_LINK.sub(lambda m: m.group(1) + MASK, text)
    text = _NAMED_SECRET.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    text = _RANDOM.sub(_mask_random, text)
    text = _MOBILE.sub(_mask_mobile, text)
    return _CODE.sub(MASK, text)


# Attributes every LogRecord has; anything else came in through `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Rewrites each record in place: the message is formatted with its arguments and
    redacted, and so are string values given through `extra=` and the exception text."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the `extra=` fields and,
    if any, the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)
