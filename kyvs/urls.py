from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from kyvs.health import healthz
from providers.views.login import LoginView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="verification:start"), name="home"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("providers.account_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("verify/", include("verification.urls")),
    path("api/", include("verification.api_urls")),
    path("", include("verification.receipt_urls")),
    path("", include("providers.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
