import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.utils.translation import gettext as _

from kyvs.http import is_sessionless
from providers.access import two_factor_step
from providers.sessions import privileges_changed

# Pages a signed-in user who still owes a second factor may see.
_OPEN_TO_UNVERIFIED = {"two_factor_setup", "two_factor_verify", "logout", "set_language"}


class TwoFactorMiddleware:
    """Registry admins, organisation admins, operators of organisations that ask for it, and
    anyone who has enrolled a device must pass the second factor before any other page.

    Runs after django-otp's OTPMiddleware, which sets `request.user.is_verified()`. Until
    they have a device they are sent to enrol one; then, on each sign-in, to type a code
    (providers.access.two_factor_step). Views marked checks_two_factor_itself (the embeddable
    page's, which stays inside its frame) send people to their own second-factor pages.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "checks_two_factor_itself", False) or is_sessionless(view_func):
            return None
        if request.resolver_match.url_name in _OPEN_TO_UNVERIFIED:
            return None
        step = two_factor_step(request.user)
        if step is None:
            return None
        return redirect_to_login(request.get_full_path(), f"two_factor_{step}")


class OperatorIdleMiddleware:
    """Operators share front-desk screens: their session ends after
    KYVS_OPERATOR_IDLE_MINUTES without a request. Each request starts the wait again, to
    the minute: the session's end is moved on (and the session written) at most once every
    RENEW_EVERY_SECONDS, so the session ends between KYVS_OPERATOR_IDLE_MINUTES minus one
    minute and KYVS_OPERATOR_IDLE_MINUTES after the last request, never later. Writing it on
    every request was the largest single cost of a signed-in page (docs/performance.md)."""

    RENEW_EVERY_SECONDS = 60
    # The session key holding when its end was last moved on (whole seconds since the epoch).
    RENEWED = "kyvs.idle_renewed"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if is_sessionless(view_func):
            return None
        user = request.user
        if user.is_authenticated:
            membership = getattr(user, "membership", None)
            if membership is not None and membership.role == membership.Role.OPERATOR:
                now = int(time.time())
                if now - request.session.get(self.RENEWED, 0) >= self.RENEW_EVERY_SECONDS:
                    request.session[self.RENEWED] = now
                    request.session.set_expiry(settings.KYVS_OPERATOR_IDLE_MINUTES * 60)
        return None


class PrivilegeChangeMiddleware:
    """Ends a session whose account's rights changed since it signed in (a new role, another
    organisation, staff or superuser granted or taken away: providers/sessions.py), so that
    new rights come only with a new sign-in and its new session key. The request goes on
    signed out, and the page says why (messages are set up by then: every middleware's
    request step runs before any view step). Goes before TwoFactorMiddleware, which would
    otherwise ask the old session for a second factor first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if is_sessionless(view_func):
            return None
        if privileges_changed(request):
            logout(request)
            messages.info(request, _("Your role has changed. Please sign in again."))
        return None
