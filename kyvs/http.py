"""Helpers about the HTTP request that every app uses."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The address of the client, for rate limits and the audit.

    By default REMOTE_ADDR, the peer of the TCP connection. Behind a reverse proxy, set
    KYVS_TRUSTED_PROXY_HEADER (e.g. X-Forwarded-For) to the header that proxy writes: the
    right-most address in it is the one the proxy itself added, the only one a client cannot
    forge (addresses to its left come from the client). Never set it without a proxy in
    front, or every client could choose its own address.
    """
    header = settings.KYVS_TRUSTED_PROXY_HEADER
    if header:
        meta_key = "HTTP_" + header.upper().replace("-", "_")
        added_by_proxy = request.META.get(meta_key, "").split(",")[-1].strip()
        address = _valid(added_by_proxy)
        if address:
            return address
    return _valid(request.META.get("REMOTE_ADDR", ""))


def _valid(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def sessionless(view):
    """Mark a view that must neither read nor write the session: a public page a stranger
    opens (a share card), which sets no cookie and may be cached by proxies, or an answer
    that names what it is about by a signed token instead (the customer's screen's poll,
    never cached). The project's middleware leaves its session alone
    (providers/middleware.py)."""
    view.kyvs_sessionless = True
    return view


def is_sessionless(view) -> bool:
    return getattr(view, "kyvs_sessionless", False)
