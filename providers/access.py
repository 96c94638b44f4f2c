"""Who may do what. Views ask here; nothing here knows how a verification works."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


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
