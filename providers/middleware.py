from django.conf import settings
from django.contrib.auth.views import redirect_to_login

from kyvs.http import is_sessionless
from providers.access import two_factor_step

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
    KYVS_OPERATOR_IDLE_MINUTES without a request. Each request starts the wait again."""

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
                request.session.set_expiry(settings.KYVS_OPERATOR_IDLE_MINUTES * 60)
        return None
