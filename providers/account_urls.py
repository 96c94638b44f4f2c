"""Account pages under /accounts/: signing in and out, the second factor, invitations and
password reset.

Not namespaced, because Django's password-reset views find each other by these names.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from providers.emails import QueuedPasswordResetForm
from providers.views import accounts, two_factor
from providers.views.login import LoginView

urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("home/", accounts.signed_in_home, name="signed_in_home"),
    path("two-factor/", two_factor.verify, name="two_factor_verify"),
    path("two-factor/setup/", two_factor.setup, name="two_factor_setup"),
    path("two-factor/backup-codes/", two_factor.backup_codes, name="two_factor_backup_codes"),
    path(
        "two-factor/backup-codes/new/",
        two_factor.new_backup_codes,
        name="two_factor_new_backup_codes",
    ),
    path("invitation/<str:token>/", accounts.accept_invitation, name="invitation"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(form_class=QueuedPasswordResetForm),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
