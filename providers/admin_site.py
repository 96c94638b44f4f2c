from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite


class KyvsAdminSite(OTPAdminSite):
    """The Django admin, open only to staff who have passed their second factor.

    There is one way in: the site's own sign-in page, after which the two-factor
    middleware asks for enrolment or a code, then sends the registry admin on."""

    site_header = _("KYVS registry administration")
    site_title = _("KYVS registry")
    index_title = _("Organisations, registry and verifications")

    def login(self, request, extra_context=None):
        return redirect_to_login(request.GET.get("next") or reverse("admin:index"))
