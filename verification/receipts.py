"""Signed receipts: what an organisation was told, as a JWS it can keep and show later.

A receipt is a compact JWS, EdDSA over Ed25519, whose `kid` is the RFC 7638 thumbprint of
the signing key. Anyone can check it against the public keys at /.well-known/jwks.json
(the web page /receipts/verify/ and `manage.py verify_receipt` do exactly that).

Keys come from KYVS_SIGNING_KEY_FILE: one PEM file, or a directory of `*.pem` files read in
name order. Each file may hold several PEM blocks. The last *private* key signs; every key,
private or public-only, stays published, so receipts signed before a rotation still verify.
To rotate, add a new file that sorts last (e.g. `2026-01.pem`) and, once you like, replace
the retired private key by its public half (`openssl pkey -pubout`). Keys are read once per
process: restart the app servers after a rotation.
"""

import base64
import contextlib
import hmac
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from joserfc import jws
from joserfc.errors import JoseError, UnsupportedAlgorithmError
from joserfc.jwk import KeySet, OKPKey

ALGORITHM = "EdDSA"


class _Registry(jws.JWSRegistry):
    """Only EdDSA, and without joserfc's deprecation warning for it: RFC 9864 prefers the
    fully specified name "Ed25519", but "EdDSA" is what verifiers in the field (PyJWT, jose,
    Java and .NET libraries) understand today, and our Ed25519 keys pin the curve."""

    def get_alg(self, name: str):
        if name != ALGORITHM:
            raise UnsupportedAlgorithmError(f"Algorithm of '{name}' is not allowed")
        return self.algorithms[name]


_REGISTRY = _Registry(algorithms=[ALGORITHM])

# A receipt with every scope is well under 4 KiB; anything far larger is not one of ours.
MAX_RECEIPT_LENGTH = 16_384
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


@dataclass(frozen=True)
class SigningKeys:
    signing: OKPKey
    published: tuple[OKPKey, ...]  # newest first


def _with_kid(key: OKPKey) -> OKPKey:
    if key.curve_name != "Ed25519":
        raise ImproperlyConfigured("KYVS_SIGNING_KEY_FILE must hold Ed25519 keys only.")
    return OKPKey.import_key(
        key.as_dict(private=key.is_private),
        parameters={"kid": key.thumbprint(), "use": "sig", "alg": ALGORITHM},
    )


def _generate(path: Path) -> None:
    """Write a new private key to `path` unless one appears there first: the key goes to a
    temporary file that is then linked into place, which fails if another process won."""
    pem = OKPKey.generate_key("Ed25519").as_pem(private=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        os.chmod(tmp, 0o600)
        # Another process may have won the race; its key is as good as ours.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def _pem_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.glob("*.pem") if p.is_file())
    return [path]


@lru_cache(maxsize=4)
def _load(path_name: str, generate: bool) -> SigningKeys:
    path = Path(path_name)
    if not path.exists():
        if not generate:
            raise ImproperlyConfigured(
                f"KYVS_SIGNING_KEY_FILE {path_name!r} does not exist; create a key with "
                "`openssl genpkey -algorithm ed25519 -out FILE`."
            )
        _generate(path)
    keys: list[OKPKey] = []
    for pem_file in _pem_files(path):
        for block in _PEM_BLOCK.finditer(pem_file.read_bytes()):
            try:
                keys.append(_with_kid(OKPKey.import_key(block.group(0))))
            except (JoseError, ValueError, TypeError) as exc:
                raise ImproperlyConfigured(
                    f"KYVS_SIGNING_KEY_FILE: {pem_file} holds a key that cannot be read ({exc})."
                ) from None
    private = [k for k in keys if k.is_private]
    if not private:
        raise ImproperlyConfigured(f"KYVS_SIGNING_KEY_FILE {path_name!r} holds no private key.")
    published: dict[str, OKPKey] = {}
    for key in reversed(keys):
        published.setdefault(key.kid, key)
    return SigningKeys(signing=private[-1], published=tuple(published.values()))


def signing_keys() -> SigningKeys:
    return _load(str(settings.KYVS_SIGNING_KEY_FILE), settings.KYVS_SIGNING_KEY_GENERATE)


def _forget_keys(*, setting, **kwargs) -> None:
    if setting.startswith("KYVS_SIGNING_KEY"):
        _load.cache_clear()


setting_changed.connect(_forget_keys)


def jwks() -> dict:
    """The public keys, newest (the one signing now) first."""
    return {"keys": [key.as_dict(private=False) for key in signing_keys().published]}


def public_key_set() -> KeySet:
    return KeySet.import_key_set(jwks())


def sign(claims: dict) -> str:
    key = signing_keys().signing
    header = {"alg": ALGORITHM, "typ": "JWT", "kid": key.kid}
    payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return jws.serialize_compact(header, payload.encode(), key, registry=_REGISTRY)


def receipt_claims(
    *, organisation_id: str, organisation_name: str, result_fields: dict, issued_at: datetime
) -> dict:
    """What a receipt states: who asked (aud), about which verification (sub), when, why, and
    the answer exactly as the organisation received it (already cut down to its scopes)."""
    iat = int(issued_at.timestamp())
    claims = {
        "iss": settings.KYVS_RECEIPT_ISSUER,
        "aud": organisation_id,
        "sub": result_fields["verification_id"],
        "iat": iat,
        "exp": iat + settings.KYVS_RECEIPT_VALID_DAYS * 86_400,
        "organisation": organisation_name,
        "purpose": result_fields["purpose"],
        "vaccination_status": result_fields["vaccination_status"],
    }
    for optional in ("vaccinations", "beneficiary"):
        if result_fields.get(optional) is not None:
            claims[optional] = result_fields[optional]
    return claims


@dataclass
class ReceiptCheck:
    """The outcome of checking a receipt. `claims` is set only when the signature is good,
    so nothing an attacker wrote is ever shown as if we had said it."""

    valid: bool
    problem: str = ""
    claims: dict | None = None
    header: dict = field(default_factory=dict)

    @property
    def issued_at(self) -> datetime | None:
        return _timestamp((self.claims or {}).get("iat"))

    @property
    def expires_at(self) -> datetime | None:
        return _timestamp((self.claims or {}).get("exp"))


def _timestamp(value) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


PROBLEMS = {
    "malformed": _("This is not a receipt: a receipt is three parts separated by dots."),
    "algorithm": _("This receipt is not signed the way KYVS signs receipts."),
    "unknown_key": _("This receipt was not signed by a KYVS key."),
    "signature": _("The signature does not match: this receipt has been altered or forged."),
    "issuer": _("This receipt was issued by someone else."),
    "expired": _("The signature is genuine, but this receipt has expired."),
    "not_yet_valid": _("This receipt claims to be issued in the future."),
}


def verify(
    receipt: str,
    *,
    key_set: KeySet | None = None,
    issuer: str | None = None,
    now: datetime | None = None,
) -> ReceiptCheck:
    """Check a receipt's signature against `key_set` (default: our published keys), then its
    issuer (when given) and its validity period."""
    token = "".join((receipt or "").split())
    if not token or len(token) > MAX_RECEIPT_LENGTH or token.count(".") != 2:
        return ReceiptCheck(False, str(PROBLEMS["malformed"]))
    try:
        obj = jws.extract_compact(token.encode("ascii"), registry=_REGISTRY)
        header = obj.headers()
    except (JoseError, ValueError, UnicodeError):
        return ReceiptCheck(False, str(PROBLEMS["malformed"]))
    if header.get("alg") != ALGORITHM:
        return ReceiptCheck(False, str(PROBLEMS["algorithm"]), header=header)
    keys = key_set if key_set is not None else public_key_set()
    kid = header.get("kid")
    key = next((k for k in keys.keys if isinstance(kid, str) and k.kid == kid), None)
    if key is None:
        return ReceiptCheck(False, str(PROBLEMS["unknown_key"]), header=header)
    try:
        good = jws.validate_compact(obj, key, registry=_REGISTRY)
    except JoseError:
        good = False
    if not good:
        return ReceiptCheck(False, str(PROBLEMS["signature"]), header=header)
    try:
        claims = json.loads(obj.payload)
    except ValueError:
        return ReceiptCheck(False, str(PROBLEMS["malformed"]), header=header)
    if not isinstance(claims, dict):
        return ReceiptCheck(False, str(PROBLEMS["malformed"]), header=header)
    check = ReceiptCheck(True, claims=claims, header=header)
    moment = now or datetime.now(UTC)
    if issuer is not None and claims.get("iss") != issuer:
        check.valid, check.problem = False, str(PROBLEMS["issuer"])
    elif check.expires_at is None or check.expires_at <= moment:
        check.valid, check.problem = False, str(PROBLEMS["expired"])
    elif check.issued_at is None or check.issued_at > moment + timedelta(minutes=5):
        check.valid, check.problem = False, str(PROBLEMS["not_yet_valid"])
    return check


# --- The receipt's link -----------------------------------------------------------------
#
# The QR code beside a receipt does not hold the receipt: a 1,200-character JWS makes a
# version-24 code too dense to scan from a screen. It holds a short link to KYVS's page for
# the receipt, /receipts/<verification id>/?c=<check>. The check value is a MAC of the
# verification id keyed by the server's secret, so only KYVS can make a link that opens
# that page, and ids cannot be tried one after another. The link carries no personal data
# and leads to nothing stored about the answer (KYVS keeps none): the page confirms that
# KYVS issued a receipt for that verification, to whom and when, and checks a receipt text
# pasted into it (the one the organisation kept) against our keys and that verification.

LINK_CHECK_BYTES = 16  # 128 bits: 22 characters of base64url


def link_check(verification_id: str) -> str:
    """The check value of the receipt link for `verification_id` (its UUID as text): the
    first LINK_CHECK_BYTES of HMAC-SHA256 keyed by SECRET_KEY (salted for this use only),
    in unpadded base64url. Changing SECRET_KEY voids the links already given, not the
    receipts themselves."""
    digest = salted_hmac("kyvs.receipts.link", verification_id, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:LINK_CHECK_BYTES]).rstrip(b"=").decode()


def link_check_matches(verification_id: str, check: str) -> bool:
    """Whether `check` is `verification_id`'s link check value, compared in constant time."""
    return hmac.compare_digest(link_check(verification_id).encode(), (check or "").encode())
