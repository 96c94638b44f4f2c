"""One-time codes: made with `secrets`, kept only as a keyed hash, checked in constant time.

The hash is taken over the SHA-256 of the code rather than the code itself, so that a
client of the CoWIN-compatible API, which sends `sha256(otp)`, and a person typing the six
digits are checked against the same stored value.
"""

import hashlib
import hmac
import re
import secrets

from django.utils.crypto import salted_hmac

from kyvs.text import plain_digits

OTP_DIGITS = 6
_PLAIN = re.compile(rf"[0-9]{{{OTP_DIGITS}}}")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_KEY_SALT = "kyvs.verification.otp"


def make_otp() -> str:
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def parse_otp(submitted: str) -> str | None:
    """The one reading of a submitted code, whatever the channel: six digits (of any
    script: "૧૬૬૦૪૫" is "166045"), or the hex SHA-256 of six digits (as CoWIN's API
    clients send it, any letter case). White space around or inside (a trailing newline, "166
    045") and invisible marks are dropped. Returns the canonical form (ASCII digits, or
    lowercase hex), or None when it is neither: such input is malformed and costs no try.
    """
    text = plain_digits(submitted).lower()
    if _PLAIN.fullmatch(text) or _SHA256_HEX.fullmatch(text):
        return text
    return None


def is_well_formed(submitted: str) -> bool:
    """Whether `submitted` reads as a code (parse_otp)."""
    return parse_otp(submitted) is not None


def _digest_of(code: str) -> str:
    if _PLAIN.fullmatch(code):
        return hashlib.sha256(code.encode()).hexdigest()
    return code


def hash_otp(otp: str, context: str) -> str:
    """The keyed hash stored for `otp` (a code parse_otp reads), bound to `context` (the
    verification's public id) so a hash copied from one verification is useless for another.
    The key is derived from SECRET_KEY; the code itself is never stored or logged.
    ValueError if `otp` is not a code."""
    code = parse_otp(otp)
    if code is None:
        raise ValueError("not a code")
    return salted_hmac(_KEY_SALT, f"{context}:{_digest_of(code)}", algorithm="sha256").hexdigest()


def otp_matches(stored_hash: str, submitted: str, context: str) -> bool:
    if not stored_hash or not is_well_formed(submitted):
        return False
    return hmac.compare_digest(stored_hash, hash_otp(submitted, context))
