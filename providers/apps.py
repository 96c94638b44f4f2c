from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = _("Provider organisations")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from providers.sessions import remember_language, remember_privileges

        user_logged_in.connect(remember_privileges, dispatch_uid="kyvs.remember_privileges")
        user_logged_in.connect(remember_language, dispatch_uid="kyvs.remember_language")
