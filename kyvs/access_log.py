"""Gunicorn's access log without secrets (gunicorn.conf.py sets `logger_class` to this).

Some URLs carry a secret in their path: an invitation's token, a password-reset link,
the receipt, share and embed links (/s/<token>/, /c/<public id>/<token>,
/embed/s/<token>) and the customer's screen's poll (/verify/state/<token>/). Their secret
segments are replaced by "[redacted]" in every atom that shows a path: the path (%(U)s),
the request line (%(r)s, also cut to the path, without the query string) and the
referring page (%(f)s, which is often one of those pages). The query string (%(q)s) and
the headers that carry credentials (Authorization, X-Api-Key, Cookie) are never logged.

A new URL with a secret in its path needs a line in SECRET_IN_PATH;
tests/test_production_serving.py walks the URLconf and fails for a path argument that is
logged as it is.
"""

import re
from urllib.parse import urlsplit

from gunicorn.glogging import Logger

REDACTED = "[redacted]"

# (prefix, number of path segments after it that are secret). Anchored at the start.
SECRET_IN_PATH = [
    ("/s/", 1),
    # /c/<public id>/<token>, both; and /c/<token>, the earlier shape (a rule that replaces
    # ends the search, so the longer comes first).
    ("/c/", 2),
    ("/c/", 1),
    ("/embed/s/", 1),
    # The customer's screen's poll: a signed token that names its verification for
    # KYVS_OPERATOR_IDLE_MINUTES (verification/views.py, state_url).
    ("/verify/state/", 1),
    ("/accounts/invitation/", 1),
    # /accounts/password-reset/<uidb64>/<token>/, not /sent/ or /done/ (one segment)
    ("/accounts/password-reset/", 2),
]

_RULES = [
    re.compile("^(" + re.escape(prefix) + ")" + "/".join(["[^/]+"] * segments) + "(?=/|$)")
    for prefix, segments in SECRET_IN_PATH
]
_REPLACEMENTS = ["\\1" + "/".join([REDACTED] * segments) for _, segments in SECRET_IN_PATH]

_NEVER_LOGGED = ("{authorization}i", "{x-api-key}i", "{cookie}i", "{set-cookie}o")


def mask_path(path: str) -> str:
    """`path` (no query string) with the secret segments of SECRET_IN_PATH replaced."""
    for rule, replacement in zip(_RULES, _REPLACEMENTS, strict=True):
        path, replaced = rule.subn(replacement, path, count=1)
        if replaced:
            break
    return path


class MaskingLogger(Logger):
    """gunicorn's Logger, with the atoms above masked or left out."""

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        path = mask_path(environ.get("PATH_INFO", ""))
        atoms["U"] = path
        atoms["r"] = f"{environ['REQUEST_METHOD']} {path} {environ['SERVER_PROTOCOL']}"
        atoms["q"] = "-"
        referer = environ.get("HTTP_REFERER")
        if referer:
            parts = urlsplit(referer)
            origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
            atoms["f"] = origin + mask_path(parts.path)
        for key in list(atoms):
            if key in _NEVER_LOGGED or key.endswith("}e"):
                del atoms[key]
        return atoms
