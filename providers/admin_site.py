from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.admin import OTPAdminSite


class KyvsAdminSite(OTPAdminSite):
    """The Django admin, open only to staff who have passed their second factor.

    There is one way in: the site's own sign-in page, after which the two-factor
    middleware asks for enrolment or a code, then sends the registry admin on.

    Its front page says how many applications wait for review, and the review queue's
    entry in the list of models carries the same count."""

    site_header = _("KYVS registry administration")
    site_title = _("KYVS registry")
    index_title = _("Organisations, registry and verifications")
    index_template = "admin/kyvs_index.html"

    def login(self, request, extra_context=None):
        return redirect_to_login(request.GET.get("next") or reverse("admin:index"))

    def index(self, request, extra_context=None):
        from providers.models import Organisation

        waiting = Organisation.objects.pending().count()
        return super().index(request, {**(extra_context or {}), "applications_waiting": waiting})

    def get_app_list(self, request, app_label=None):
        from providers.models import Organisation

        app_list = super().get_app_list(request, app_label)
        waiting = None
        for app in app_list:
            for model in app["models"]:
                if model["object_name"] == "PendingApplication":
                    if waiting is None:
                        waiting = Organisation.objects.pending().count()
                    model["name"] = ngettext(
                        "Pending applications (%(n)d waiting)",
                        "Pending applications (%(n)d waiting)",
                        waiting,
                    ) % {"n": waiting}
        return app_list
