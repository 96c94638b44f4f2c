from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from providers.tokens import user_for_invitation


def signed_in_home(request: HttpRequest) -> HttpResponse:
    """Where a finished sign-in (LOGIN_REDIRECT_URL) and "/" for a signed-in person lead:
    an organisation admin to the console, a registry admin to the admin, everyone else to
    the verification form. A second factor still owed is asked for first
    (providers.middleware.TwoFactorMiddleware), then the person arrives here and is sent
    on."""
    user = request.user
    membership = getattr(user, "membership", None) if user.is_authenticated else None
    if membership is not None and membership.is_admin:
        return redirect("providers:console")
    if membership is None and user.is_authenticated and user.is_staff:
        return redirect("admin:index")
    return redirect("verification:start")


@never_cache
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    user = user_for_invitation(token)
    if user is None:
        return render(request, "registration/invitation_invalid.html", status=410)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        login(request, user)
        messages.success(request, _("Welcome to KYVS. Your password is set."))
        return redirect("signed_in_home")
    return render(
        request,
        "registration/invitation_accept.html",
        {"form": form, "invited": user, "membership": getattr(user, "membership", None)},
    )
