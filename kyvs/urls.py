from django.contrib import admin
from django.urls import include, path

from kyvs.health import healthz
from providers.views.accounts import home

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("providers.account_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("verify/", include("verification.urls")),
    path("api/", include("verification.api_urls")),
    path("", include("verification.receipt_urls")),
    path("", include("providers.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
