"""Device cookies: a browser that has signed in to an account before keeps signing in to it
while strangers guessing its password are throttled.

The scheme is OWASP's "Slow Down Online Guessing Attacks with Device Cookies"
(https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies).
A successful sign-in gives the browser a device cookie for that account: the account and a
random nonce, signed with the server's secret. A sign-in that presents a valid device cookie
for the account typed is counted against that cookie's own failure limit
(kyvs.limits.LOGIN_FAILURES_PER_DEVICE, per nonce); every other sign-in, from an untrusted
client, shares the account's limit (LOGIN_FAILURES_PER_ACCOUNT) and the client address's
(LOGIN_FAILURES_PER_IP). So someone who knows only a login name can lock out the untrusted
clients, never the owner's own browsers; and one device cookie is locked out on its own.
The rules are applied by providers/views/login.py.

One cookie holds the devices of up to MAX_ACCOUNTS accounts (a front-desk computer is shared
by several operators), newest first, each expiring KYVS_DEVICE_COOKIE_DAYS after it was
issued. It is signed with django.core.signing (HMAC-SHA256 keyed by SECRET_KEY and a salt of
its own) and names each account only by a keyed hash (kyvs.limits.keyed_hash), so the
cookie does not show the sign-in name. HttpOnly, Secure per KYVS_SECURE_COOKIES,
SameSite=Lax, and sent only to the sign-in page that issued it (its path); under /embed/
it is the embed's own cookie (kyvs/framing.py: EMBED_COOKIES).
"""

import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

from kyvs.limits import keyed_hash

SALT = "kyvs.device-cookie"
MAX_ACCOUNTS = 10


@dataclass(frozen=True)
class Device:
    """One account's entry in a device cookie: the account's keyed hash, the nonce that its
    failures are counted under, and when it was issued (seconds since the epoch)."""

    account: str
    nonce: str
    issued: int


def _lifetime() -> int:
    return settings.KYVS_DEVICE_COOKIE_DAYS * 86400


def _devices(request: HttpRequest) -> list[Device]:
    """The unexpired entries of the request's device cookie; none if it is missing, not
    signed by us, or not of our shape."""
    value = request.COOKIES.get(settings.KYVS_DEVICE_COOKIE_NAME)
    if not value:
        return []
    try:
        entries = signing.loads(value, salt=SALT, max_age=_lifetime())
    except signing.BadSignature:
        return []
    oldest = time.time() - _lifetime()
    devices = []
    for entry in entries if isinstance(entries, list) else []:
        if (
            isinstance(entry, list)
            and len(entry) == 3
            and all(isinstance(part, str) for part in entry[:2])
            and isinstance(entry[2], int)
            and entry[2] > oldest
        ):
            devices.append(Device(*entry))
    return devices


def trusted_nonce(request: HttpRequest, account: str) -> str | None:
    """The nonce of the request's valid device cookie for `account` (the folded name typed,
    kyvs.text.account_key), or None: an untrusted client."""
    wanted = keyed_hash(account)
    return next((d.nonce for d in _devices(request) if d.account == wanted), None)


def issue(request: HttpRequest, response: HttpResponse, account: str) -> None:
    """After a successful sign-in to `account`: give this browser a new device cookie entry
    for it (a new nonce, so the old one's failures are left behind), keeping its entries for
    other accounts, newest first, at most MAX_ACCOUNTS."""
    mine = keyed_hash(account)
    others = [d for d in _devices(request) if d.account != mine]
    devices = [Device(mine, secrets.token_urlsafe(16), int(time.time())), *others]
    value = signing.dumps(
        [[d.account, d.nonce, d.issued] for d in devices[:MAX_ACCOUNTS]], salt=SALT
    )
    response.set_cookie(
        settings.KYVS_DEVICE_COOKIE_NAME,
        value,
        max_age=_lifetime(),
        path=request.path,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
