"""How a signed-in session's account is read on each request: in one query.

Every page a member opens needs the account, its membership and organisation (who may do
what: providers/access.py) and whether it has enrolled a second factor
(providers.middleware.TwoFactorMiddleware). Read one by one that is four or five queries
on every request; `MemberBackend.get_user` reads them in one.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice

from providers.models import BackupCodeDevice

# The name of the annotation get_user leaves on the account: whether it has a confirmed
# second-factor device of any kind KYVS offers.
HAS_DEVICE = "kyvs_has_device"


class MemberBackend(ModelBackend):
    """Django's ModelBackend (passwords, `is_active`, permissions), whose `get_user` also
    loads the membership and its organisation (a missing membership is remembered as
    none, so `user.membership` raises without a query) and sets `user.kyvs_has_device`:
    whether a confirmed authenticator app or a set of backup codes exists, as
    `django_otp.user_has_device(user)` would answer for the device kinds installed."""

    def get_user(self, user_id):
        """The active account with primary key `user_id`, or None."""
        confirmed = {"user": OuterRef("pk"), "confirmed": True}
        user = (
            get_user_model()
            ._default_manager.select_related("membership__organisation")
            .annotate(
                kyvs_totp=Exists(TOTPDevice.objects.filter(**confirmed)),
                kyvs_backup=Exists(BackupCodeDevice.objects.filter(**confirmed)),
            )
            .filter(pk=user_id)
            .first()
        )
        if user is None or not self.user_can_authenticate(user):
            return None
        setattr(user, HAS_DEVICE, user.kyvs_totp or user.kyvs_backup)
        return user
