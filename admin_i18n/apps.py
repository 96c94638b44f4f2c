from django.apps import AppConfig


class AdminI18nConfig(AppConfig):
    """The Django admin's own words in Gujarati, and those its Hindi catalogue lacks
    (admin_i18n/locale/). An app of its own, holding no code with words to translate, so
    that `makemessages` run at the project's root never writes the project's words into
    this catalogue, nor this catalogue's into the project's. Installed after
    django.contrib.admin and django.contrib.auth: Django's own translations win where they
    exist."""

    name = "admin_i18n"
    verbose_name = "Admin translations"
