"""Sign-in, with limits on failed attempts that slow down guessing without locking out the
account's owner.

Failures are counted by kyvs.limits, as OWASP's device-cookie scheme has it
(providers/device_cookies.py):

- from a browser holding a valid device cookie for the account typed (it signed in to that
  account before): against that cookie alone (LOGIN_FAILURES_PER_DEVICE);
- from any other client: against the account name typed (LOGIN_FAILURES_PER_ACCOUNT,
  shared by all untrusted clients) and the client address (LOGIN_FAILURES_PER_IP).

Over a limit the password is not even checked, and the answer is the same whether or not
the account exists (the counts are kept per name typed). When the untrusted clients' limit
first bites in a window, the account's owner is e-mailed (providers/emails.py); the job is
enqueued for a name that has no account too, so the answer takes the same work either way.
A successful sign-in gives the browser a new device cookie for the account.
"""

import logging
from datetime import timedelta

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from kyvs import limits
from kyvs.http import client_ip
from kyvs.text import account_key
from providers import device_cookies, emails

log = logging.getLogger(__name__)


def _failure_limits(request) -> list[tuple[limits.Limit, str]]:
    """The (limit, identity) pairs a failed sign-in of `request` counts against."""
    account = account_key(request.POST.get("username", ""))
    nonce = device_cookies.trusted_nonce(request, account)
    if nonce is not None:
        return [(limits.LOGIN_FAILURES_PER_DEVICE, nonce)]
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
            log.warning(
                "sign-in refused, too many failures (%s, ip %s)", limit.name, client_ip(request)
            )
            refusal = limits.RateLimited(limit, wait)
            return self._refuse(refusal.message, 429, refusal.retry_after)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        device_cookies.issue(self.request, response, account_key(form.get_user().get_username()))
        return response

    def form_invalid(self, form):
        try:
            for limit, ident in _failure_limits(self.request):
                usage = limits.count(limit, ident)
                if limit is limits.LOGIN_FAILURES_PER_ACCOUNT and usage.count == usage.limit:
                    # This failure starts the untrusted clients' lock-out: said once a window.
                    log.warning("sign-in from untrusted clients paused for an account")
                    paused = timedelta(seconds=limits.wait(limit, ident))
                    emails.send_sign_in_alert(ident, timezone.now() + paused)
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
