"""An "Undo" for a console step that is easy to regret: deactivating a colleague, revoking an
API key. After the step the page offers one button that reverses it, for UNDO_SECONDS, to
the admin who took it, in the session where they took it.

The offer lives in the session, as {"url", "label", "until"}: the undo view runs only when
its own address is the one offered and the time has not run out (`redeem`), so an undo
cannot be replayed later, from another browser, or for another object.
"""

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone

UNDO_SECONDS = 600
_KEY = "kyvs.undo"


def offer(request: HttpRequest, url: str, label: str) -> None:
    """Offer, for UNDO_SECONDS, a button `label` that POSTs to `url` (the undo view)."""
    until = timezone.now() + timedelta(seconds=UNDO_SECONDS)
    request.session[_KEY] = {"url": url, "label": str(label), "until": until.timestamp()}


def current(request: HttpRequest) -> dict | None:
    """The offer still open in this session ({"url", "label"}), or None."""
    held = request.session.get(_KEY)
    if not isinstance(held, dict) or held.get("until", 0) < timezone.now().timestamp():
        return None
    return held


def redeem(request: HttpRequest) -> bool:
    """Whether this request is the undo offered (its path is the offer's url, in time).
    The offer is used up either way once its url is called."""
    held = current(request)
    if held is None or held["url"] != request.path:
        return False
    del request.session[_KEY]
    return True
