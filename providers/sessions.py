"""The rights a signed-in session was given, remembered so that a change of them ends it.

What a session may do follows from its account's place (which organisation, admin or
operator) and its registry flags (staff, superuser). The session key is renewed at each step
that raises it in the session's own request: at the password by Django's `login`, at the
second factor by providers/views/two_factor.py. A role changed by someone else (an
organisation admin promoting an operator, a registry admin making someone staff) is made in
another person's request, where the member's sessions cannot be renewed. So each session
keeps the rights it was signed in with (`remember_privileges`, on every sign-in), and a
session whose account has other rights now is ended on its next request
(providers.middleware.PrivilegeChangeMiddleware): the member signs in again, under a new
key, and gets the new rights only with it.

Ended, not renewed on that next request: whoever sends it, the member or someone who had
learnt the key, would be handed the renewed key (OWASP Session Management Cheat Sheet,
"Renew the Session ID After Any Privilege Level Change").

Each sign-in also records the language of its screen (`remember_language`), the one the
account's own news is written in.
"""

from django.http import HttpRequest
from django.utils import translation

# The session key under which the rights the session was signed in with are kept.
PRIVILEGES = "kyvs.privileges"


def privileges_of(user) -> str:
    """`user`'s rights as one comparable string: organisation and role, staff, superuser."""
    membership = getattr(user, "membership", None)
    place = f"{membership.organisation_id}:{membership.role}" if membership else "-"
    return f"{place}|staff={int(user.is_staff)}|superuser={int(user.is_superuser)}"


def remember_privileges(sender, request: HttpRequest, user, **kwargs) -> None:
    """Receiver of django.contrib.auth's user_logged_in: keep the rights signed in with."""
    if request is not None and hasattr(request, "session"):
        request.session[PRIVILEGES] = privileges_of(user)


def remember_language(sender, request: HttpRequest, user, **kwargs) -> None:
    """Receiver of user_logged_in: the language of the screen signed in from is the one the
    account's news is written in (providers/emails.py)."""
    from providers.models import Membership

    if request is not None:
        Membership.remember_language(user, translation.get_language())


def privileges_changed(request: HttpRequest) -> bool:
    """Whether the signed-in account of `request` has other rights than its session was
    signed in with (a session from before these were kept counts as changed)."""
    user = request.user
    return user.is_authenticated and request.session.get(PRIVILEGES) != privileges_of(user)
