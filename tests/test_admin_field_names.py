"""Every field the registry admin can show has a name that is translated, so the admin in
Gujarati or Hindi never shows a column or a label in English made up from the code."""

from django.contrib import admin
from django.utils.functional import Promise

# Fields that django-otp's abstract Device and ThrottlingMixin declare for BackupCodeDevice;
# their names come with that library.
FROM_DJANGO_OTP = {
    "user",
    "name",
    "confirmed",
    "throttling_failure_timestamp",
    "throttling_failure_count",
}


def untranslated_fields():
    found = []
    for model in admin.site._registry:
        if model._meta.app_label not in ("providers", "verification"):
            continue
        for field in model._meta.concrete_fields:
            if field.auto_created:
                continue
            if model.__name__ == "BackupCodeDevice" and field.name in FROM_DJANGO_OTP:
                continue
            if not isinstance(field.verbose_name, Promise):
                found.append(f"{model.__name__}.{field.name}")
    return found


def test_every_field_the_admin_can_show_has_a_translated_name():
    assert untranslated_fields() == []
