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
