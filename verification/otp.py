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

OTP_DIGITS = 6
_PLAIN = re.compile(rf"^[0-9]{{{OTP_DIGITS}}}$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_KEY_SALT = "kyvs.verification.otp"


def make_otp() -> str:
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def is_well_formed(submitted: str) -> bool:
    """Six digits, or the lowercase hex SHA-256 of six digits."""
    return bool(_PLAIN.match(submitted) or _SHA256_HEX.match(submitted.lower()))


def _digest_of(submitted: str) -> str:
    if _PLAIN.match(submitted):
        return hashlib.sha256(submitted.encode()).hexdigest()
    return submitted.lower()


def hash_otp(otp: str, context: str) -> str:
    """The keyed hash stored for `otp`, bound to `context` (the verification's public id) so
    a hash copied from one verification is useless for another. The key is derived from
    SECRET_KEY; the code itself is never stored or logged."""
    return salted_hmac(_KEY_SALT, f"{context}:{_digest_of(otp)}", algorithm="sha256").hexdigest()


def otp_matches(stored_hash: str, submitted: str, context: str) -> bool:
    if not stored_hash or not is_well_formed(submitted):
        return False
    return hmac.compare_digest(stored_hash, hash_otp(submitted, context))
