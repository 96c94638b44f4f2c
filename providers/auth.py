"""How a signed-in session's account is read on each request: in one query.

Every page a member opens needs the account, its membership and organisation (who may do
what: providers/access.py) and whether it has enrolled a second factor
(providers.middleware.TwoFactorMiddleware). Read one by one that is four or five queries
on every request; `MemberBackend.get_user` reads them in one.
"""

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django_otp.plugins.otp_totp.models import TOTPDevice

from providers.models import BackupCodeDevice

# The name of the annotation get_user leaves on the account: whether it has a confirmed
# second-factor device of any kind KYVS offers.
HAS_DEVICE = "kyvs_has_device"


@functools.cache
def _has_device_sql() -> str:
    """EXISTS a confirmed TOTP device OR a confirmed set of backup codes, for the outer
    query's account. Written as SQL, not as two Exists() subqueries: Django took some 1 ms
    of a request's time to build those (measured: docs/performance.md), the database 0.05.
    Only table and column names go in, quoted, from the models: nothing a request sends."""
    quote = connection.ops.quote_name
    names = {"user": quote(get_user_model()._meta.db_table), "id": quote("id")}
    names |= {"user_id": quote("user_id"), "confirmed": quote("confirmed")}
    exists = "EXISTS (SELECT 1 FROM {t} WHERE {t}.{user_id} = {user}.{id} AND {t}.{confirmed})"
    parts = [
        exists.format(t=quote(model._meta.db_table), **names)
        for model in (TOTPDevice, BackupCodeDevice)
    ]
    return " OR ".join(parts)


class MemberBackend(ModelBackend):
    """Django's ModelBackend (passwords, `is_active`, permissions), whose `get_user` also
    loads the membership and its organisation (a missing membership is remembered as
    none, so `user.membership` raises without a query) and sets `user.kyvs_has_device`:
    whether a confirmed authenticator app or a set of backup codes exists, as
    `django_otp.user_has_device(user)` would answer for the device kinds installed."""

    def get_user(self, user_id):
        """The active account with primary key `user_id`, or None."""
        has_device = RawSQL(_has_device_sql(), [], output_field=BooleanField())  # noqa: S611
        user = (
            get_user_model()
            ._default_manager.select_related("membership__organisation")
            .annotate(**{HAS_DEVICE: has_device})
            .filter(pk=user_id)
            .first()
        )
        if user is None or not self.user_can_authenticate(user):
            return None
        return user
