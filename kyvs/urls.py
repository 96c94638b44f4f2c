from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from kyvs.health import healthz

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="verification:start"), name="home"),
    path("accounts/", include("providers.account_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("verify/", include("verification.urls")),
    # The embeddable page (kyvs/framing.py: the only pages that may be framed).
    path("embed/", include("verification.embed_urls")),
    path("api/", include("verification.api_urls")),
    path("", include("verification.receipt_urls")),
    path("", include("providers.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]

handler500 = "kyvs.views.server_error"
