"""Who may do what. Views ask here; nothing here knows how a verification works."""

from datetime import timedelta
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django_otp import user_has_device

from kyvs.api import ERRORS, ApiProblem
from providers.auth import HAS_DEVICE
from providers.models import ApiKey

# How often an API key's "last used" time is written: often enough for the console, rarely
# enough that a busy key does not write on every call.
LAST_USED_EVERY = timedelta(minutes=1)


def member_required(view):
    """Signed in and belonging to an organisation; sets `request.membership` and
    `request.organisation` for the view."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        membership = getattr(request.user, "membership", None)
        if membership is None:
            raise PermissionDenied("This account does not belong to an organisation.")
        request.membership = membership
        request.organisation = membership.organisation
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view):
    """An admin of the signed-in user's organisation. Operators are refused (403); what an
    admin may reach is always looked up within `request.organisation`, so another
    organisation's objects are simply not found (404)."""

    @member_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership.is_admin:
            raise PermissionDenied("Only the organisation's admins may do this.")
        return view(request, *args, **kwargs)

    return wrapper


def needs_two_factor(user) -> bool:
    """Whether `user` must sign in with a second factor: registry admins (staff) and
    organisation admins always; operators when their organisation asks for it."""
    if user.is_staff or user.is_superuser:
        return True
    membership = getattr(user, "membership", None)
    return membership is not None and membership.needs_two_factor


def two_factor_step(user) -> str | None:
    """What a signed-in `user` still owes before any page but the second factor's own:
    "verify" (type a code from the device they have), "setup" (enrol one: they must have a
    second factor, needs_two_factor, and have none yet) or None (nothing). Anyone who has
    enrolled a device uses it, required or not. Read by providers.middleware and by pages
    that sign people in themselves (the embeddable page, verification/embed.py)."""
    if not user.is_authenticated or user.is_verified():
        return None
    if has_device(user):
        return "verify"
    return "setup" if needs_two_factor(user) else None


def has_device(user) -> bool:
    """Whether `user` has a confirmed second-factor device: read with the account when the
    session's account was loaded by providers.auth.MemberBackend, otherwise asked of
    django-otp (one query per device kind)."""
    known = getattr(user, HAS_DEVICE, None)
    return user_has_device(user) if known is None else known


def checks_two_factor_itself(view):
    """Marks a view that sends people to its own second-factor pages (by two_factor_step),
    so that providers.middleware.TwoFactorMiddleware leaves it alone."""
    view.checks_two_factor_itself = True
    return view


def api_key_required(view):
    """The live API key in the X-Api-Key header, of an approved organisation; sets
    `request.api_key` and `request.organisation` for the view. Otherwise the API's error
    (kyvs.api): 401 `missing_api_key` or `invalid_api_key` (unknown, revoked, or longer than
    any key), 403 `organisation_not_approved`. Use inside kyvs.api.api_view, which answers
    the ApiProblem raised here.

    One indexed lookup by the key's visible prefix and one HMAC (ApiKey.objects.for_key);
    the key's `last_used_at` is written at most once a LAST_USED_EVERY."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        raw = request.headers.get("X-Api-Key", "").strip()
        if not raw:
            raise ApiProblem(ERRORS["missing_api_key"])
        key = ApiKey.objects.for_key(raw) if len(raw) <= 200 else None
        if key is None:
            raise ApiProblem(ERRORS["invalid_api_key"])
        if not key.organisation.is_approved:
            raise ApiProblem(ERRORS["organisation_not_approved"])
        key.mark_used(timezone.now(), every=LAST_USED_EVERY)
        request.api_key = key
        request.organisation = key.organisation
        return view(request, *args, **kwargs)

    return wrapper
