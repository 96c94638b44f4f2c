from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from providers.tokens import user_for_invitation


@never_cache
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    user = user_for_invitation(token)
    if user is None:
        return render(request, "registration/invitation_invalid.html", status=410)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome to KYVS. Your password is set."))
        # Where a finished sign-in goes: "/" is now the public front door.
        return redirect(settings.LOGIN_REDIRECT_URL)
    return render(
        request,
        "registration/invitation_accept.html",
        {"form": form, "invited": user, "membership": getattr(user, "membership", None)},
    )
