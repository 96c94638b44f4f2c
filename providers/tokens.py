"""Invitation links: signed, expiring, and good for one use.

The token carries the user's id and a keyed digest of the account's password hash, last
sign-in and active flag. Choosing a password changes the first, so a used link (or any
earlier link for the same account) stops working, as Django's password-reset tokens do.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

_SALT = "kyvs.providers.invitation"


def _state_of(user) -> str:
    state = f"{user.pk}|{user.password}|{user.last_login}|{user.is_active}"
    return salted_hmac(_SALT, state, algorithm="sha256").hexdigest()[:32]


def make_invitation_token(user) -> str:
    return signing.dumps({"u": user.pk, "s": _state_of(user)}, salt=_SALT, compress=True)


def user_for_invitation(token: str):
    """The invited user, or None if the token is forged, expired or already used."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.KYVS_INVITE_MAX_AGE_HOURS * 3600)
    except signing.BadSignature:
        return None
    user = get_user_model().objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or not constant_time_compare(_state_of(user), data.get("s", "")):
        return None
    return user
