from django.apps import AppConfig


class KyvsConfig(AppConfig):
    """The project package as an app, so that its signal receivers and system checks are
    registered once."""

    name = "kyvs"
    verbose_name = "KYVS"

    def ready(self) -> None:
        from kyvs import (
            audit,  # noqa: F401  (connects the receivers)
            checks,  # noqa: F401  (registers the deploy checks)
        )
