from django.apps import AppConfig


class KyvsConfig(AppConfig):
    """The project package as an app, so that its signal receivers are connected once."""

    name = "kyvs"
    verbose_name = "KYVS"

    def ready(self) -> None:
        from kyvs import audit  # noqa: F401  (connects the receivers)
