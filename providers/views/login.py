"""Sign-in, with limits on failed attempts per account name and per client IP.

Failures are counted with django-ratelimit on the shared cache: KYVS_LOGIN_FAILURES_PER_ACCOUNT
per typed account name and KYVS_LOGIN_FAILURES_PER_IP per client address, per
KYVS_LOGIN_WINDOW_SECONDS. Over either limit the password is not even checked, and the
answer is the same whether or not the account exists (the count is kept per name typed).
"""

import logging
import math

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_ratelimit.core import get_usage

from kyvs.http import client_ip
from kyvs.limits import CACHE_ERRORS

log = logging.getLogger(__name__)


def _account(group, request) -> str:
    return request.POST.get("username", "").strip().casefold()[:150]


def _ip(group, request) -> str:
    return client_ip(request) or "unknown"


def _per_account(group, request) -> tuple[int, int]:
    return settings.KYVS_LOGIN_FAILURES_PER_ACCOUNT, settings.KYVS_LOGIN_WINDOW_SECONDS


def _per_ip(group, request) -> tuple[int, int]:
    return settings.KYVS_LOGIN_FAILURES_PER_IP, settings.KYVS_LOGIN_WINDOW_SECONDS


_LIMITS = [("login-account", _account, _per_account), ("login-ip", _ip, _per_ip)]


class _RefusedForm(AuthenticationForm):
    """Shows `message` as the form's error without ever checking the password."""

    message = ""

    def clean(self):
        raise ValidationError(self.message, code="refused")


class LoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        try:
            wait = self._wait(request)
        except CACHE_ERRORS:
            log.error("sign-in refused, rate limit cache unavailable")
            return self._refuse(
                _("Sign-in is not available just now. Please try again shortly."), 503, 30
            )
        if wait:
            log.warning("sign-in refused, too many failures (ip %s)", client_ip(request))
            minutes = math.ceil(wait / 60)
            message = " ".join(
                [
                    _("Too many failed sign-in attempts."),
                    ngettext(
                        "Please try again in %(minutes)d minute.",
                        "Please try again in %(minutes)d minutes.",
                        minutes,
                    )
                    % {"minutes": minutes},
                ]
            )
            return self._refuse(message, 429, wait)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        try:
            for group, key, rate in _LIMITS:
                get_usage(self.request, group=group, key=key, rate=rate, increment=True)
        except CACHE_ERRORS:
            log.error("sign-in failure not counted, rate limit cache unavailable")
        return super().form_invalid(form)

    @staticmethod
    def _wait(request) -> int:
        """Seconds until sign-in may be tried again, or 0 if it may be tried now."""
        wait = 0
        for group, key, rate in _LIMITS:
            usage = get_usage(request, group=group, key=key, rate=rate, increment=False)
            if usage and usage["count"] >= usage["limit"]:
                wait = max(wait, usage["time_left"], 1)
        return wait

    def _refuse(self, message: str, status: int, retry_after: int) -> HttpResponse:
        form = _RefusedForm(self.request, data=self.request.POST)
        form.message = message
        form.full_clean()
        response = self.render_to_response(self.get_context_data(form=form), status=status)
        response["Retry-After"] = str(retry_after)
        return response
