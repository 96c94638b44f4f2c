"""The public application form.

Two limits from kyvs/limits.py guard it: every sending of the form counts against
APPLICATION_ATTEMPTS_PER_IP (generous, against floods: over it, the 429 page leads back to
the form), and only an application that is accepted counts against APPLICATIONS_PER_IP.
Over that one, the form comes back with everything in it and says how long to wait, so an
applicant who made mistakes along the way is never refused for them.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from kyvs import limits
from kyvs.http import client_ip
from providers import services
from providers.forms import ApplicationForm


def _client(request: HttpRequest) -> str:
    return client_ip(request) or "unknown"


# never_cache: a form sent back with its errors keeps the password typed (when it was
# accepted), so no copy of the page may be stored anywhere.
@never_cache
@limits.limit_view(limits.APPLICATION_ATTEMPTS_PER_IP, key=_client)
def apply(request: HttpRequest) -> HttpResponse:
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            usage = limits.take(limits.APPLICATIONS_PER_IP, _client(request))
        except limits.RateLimited as refusal:
            form.add_error(None, refusal.message)
            response = render(request, "providers/apply.html", {"form": form}, status=429)
            response["Retry-After"] = str(refusal.retry_after)
            return response
        try:
            _submit(form)
        except services.DuplicateApplication:
            limits.refund([usage])
            form.add_error(
                None,
                _(
                    "An organisation with this name, registration number or e-mail has just "
                    "applied. If it is yours, contact the registry."
                ),
            )
        else:
            return redirect("providers:apply_done")
    return render(request, "providers/apply.html", {"form": form})


def _submit(form: ApplicationForm) -> None:
    data = form.cleaned_data
    services.submit_application(
        name=data["name"],
        kind=data["kind"],
        sector=data["sector"],
        registration_kind=data["registration_kind"],
        registration_number=data["registration_number"],
        address=data["address"],
        indian_state=data["indian_state"],
        website=data["website"],
        purposes=data["purposes"],
        scopes=data["scopes"],
        scope_reasons=form.scope_reasons(),
        contact_name=data["contact_name"],
        email=data["email"],
        mobile=data["mobile"],
        password=data["password1"],
    )


def apply_done(request: HttpRequest) -> HttpResponse:
    return render(request, "providers/apply_done.html")
