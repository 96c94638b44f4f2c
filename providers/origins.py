"""The web origins an organisation lets frame KYVS's embeddable page: what one may be.

An origin is a scheme, a host and a port, as a browser names the page that frames another
(RFC 6454, section 6.1): ``https://booking.example.com`` or ``https://hr.example.in:8443``,
with no path, query, fragment or user name. It is written into the embed pages'
``Content-Security-Policy: frame-ancestors`` and is the target of their ``postMessage``, so
it must be exactly the form the browser uses: lower case, the default port left out, the
host in ASCII (an internationalised name in its ``xn--`` form).

Only ``https`` origins are accepted: a page served over plain HTTP can be changed by anyone
on its path, and a frame inside it could then be shown to anyone. For trying the embed on a
developer's machine (``DEBUG``), ``http://localhost`` and ``http://127.0.0.1`` on any port
are accepted too; browsers treat those two as secure contexts.
"""

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# At most this many origins per organisation: each one lengthens every embed page's headers.
MAX_ORIGINS = 20

LOOPBACK_HOSTS = {"localhost", "127.0.0.1"}
_LABEL = re.compile(r"\A(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_DEFAULT_PORTS = {"https": 443, "http": 80}


def parse_origin(text: str, *, allow_loopback_http: bool = False) -> str:
    """`text` as an origin in the browser's own form (``https://host[:port]``), or
    ValidationError saying what is wrong with it. `allow_loopback_http` also accepts
    ``http://localhost:PORT`` and ``http://127.0.0.1:PORT`` (development only)."""
    value = text.strip()
    if not value:
        raise ValidationError(_("Enter an origin, such as https://booking.example.com."))
    if not value.isascii():
        raise ValidationError(
            _("%(origin)s: write the host name in its ASCII (xn--) form."),
            params={"origin": value},
        )
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationError(
            _("%(origin)s is not an origin such as https://booking.example.com."),
            params={"origin": value},
        ) from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if "://" not in value or not host or parts.username is not None or parts.password is not None:
        raise ValidationError(
            _("%(origin)s is not an origin such as https://booking.example.com."),
            params={"origin": value},
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValidationError(
            _("%(origin)s has a path: give only https:// and the host name (and port)."),
            params={"origin": value},
        )
    loopback_http = allow_loopback_http and scheme == "http" and host in LOOPBACK_HOSTS
    if scheme != "https" and not loopback_http:
        raise ValidationError(
            _("%(origin)s must start with https://."),
            params={"origin": value},
        )
    if not all(_LABEL.match(label) for label in host.split(".")) or port == 0:
        raise ValidationError(
            _("%(origin)s does not have a valid host name."),
            params={"origin": value},
        )
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_origins(texts, *, allow_loopback_http: bool = False) -> list[str]:
    """Each of `texts` through `parse_origin`, blank ones skipped and repeats dropped (first
    one kept). ValidationError listing every bad one, or when there are over MAX_ORIGINS."""
    origins: list[str] = []
    errors: list[ValidationError] = []
    for text in texts:
        if not text.strip():
            continue
        try:
            origin = parse_origin(text, allow_loopback_http=allow_loopback_http)
        except ValidationError as error:
            errors.append(error)
            continue
        if origin not in origins:
            origins.append(origin)
    if errors:
        raise ValidationError(errors)
    if len(origins) > MAX_ORIGINS:
        raise ValidationError(
            _("At most %(max)d origins can be registered."), params={"max": MAX_ORIGINS}
        )
    return origins
