from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from kyvs import limits
from kyvs.http import client_ip
from providers import services
from providers.forms import ApplicationForm


def _client(request: HttpRequest) -> str:
    return client_ip(request) or "unknown"


# Applying is public: a few tries an hour from one address is plenty for a real applicant.
@limits.limit_view(limits.APPLICATIONS_PER_IP, key=_client)
def apply(request: HttpRequest) -> HttpResponse:
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.submit_application(
                name=data["name"],
                sms_name=data["sms_name"],
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
        except services.DuplicateApplication:
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


def apply_done(request: HttpRequest) -> HttpResponse:
    return render(request, "providers/apply_done.html")
