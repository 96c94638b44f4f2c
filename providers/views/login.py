"""Sign-in, with limits on failed attempts per account name and per client address.

Failures are counted by kyvs.limits (LOGIN_FAILURES_PER_ACCOUNT per typed account name,
LOGIN_FAILURES_PER_IP per client address). Over either limit the password is not even
checked, and the answer is the same whether or not the account exists (the count is kept
per name typed).
"""

import logging
import unicodedata

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.translation import gettext as _

from kyvs import limits
from kyvs.http import client_ip
from kyvs.text import without_invisible

log = logging.getLogger(__name__)


def account_key(username: str) -> str:
    """The one spelling of a typed account name that its failures are counted under. Django
    folds a name with NFKC before it looks the account up (UsernameField), so "ｃｏｕｎｔｅｒ７"
    reaches the account "counter7": every spelling that reaches an account must share its
    count. Letter case and invisible marks are folded too, which only ever joins counts."""
    folded = unicodedata.normalize("NFKC", without_invisible(username))
    return folded.strip().casefold()[:150]


def _failure_limits(request) -> list[tuple[limits.Limit, str]]:
    account = account_key(request.POST.get("username", ""))
    return [
        (limits.LOGIN_FAILURES_PER_ACCOUNT, account),
        (limits.LOGIN_FAILURES_PER_IP, client_ip(request) or "unknown"),
    ]


class _RefusedForm(AuthenticationForm):
    """Shows `message` as the form's error without ever checking the password."""

    message = ""

    def clean(self):
        raise ValidationError(self.message, code="refused")


class LoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        try:
            waits = [
                (limit, limits.wait(limit, ident)) for limit, ident in _failure_limits(request)
            ]
        except limits.CacheUnavailable as refusal:
            log.error("sign-in refused, rate limit cache unavailable")
            message = _("Sign-in is not available just now. Please try again shortly.")
            return self._refuse(message, 503, refusal.retry_after)
        limit, wait = max(waits, key=lambda pair: pair[1])
        if wait:
            log.warning("sign-in refused, too many failures (ip %s)", client_ip(request))
            refusal = limits.RateLimited(limit, wait)
            return self._refuse(refusal.message, 429, refusal.retry_after)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        try:
            for limit, ident in _failure_limits(self.request):
                limits.count(limit, ident)
        except limits.CacheUnavailable:
            log.error("sign-in failure not counted, rate limit cache unavailable")
        return super().form_invalid(form)

    def _refuse(self, message: str, status: int, retry_after: int) -> HttpResponse:
        form = _RefusedForm(self.request, data=self.request.POST)
        form.message = message
        form.full_clean()
        response = self.render_to_response(self.get_context_data(form=form), status=status)
        response["Retry-After"] = str(retry_after)
        return response
