from django import forms
from django.core import exceptions
from django.db import models
from django.utils.translation import gettext_lazy as _

from kyvs import forms as kyvs_forms
from kyvs.mobile import normalise_mobile


class ChoiceListField(models.JSONField):
    """A list of choices, stored as a JSON array so it works on SQLite and PostgreSQL.

    Forms (the admin included) edit it as a set of checkboxes, and only the field's
    choices are accepted.
    """

    def __init__(self, *args, base_choices=(), **kwargs):
        self.base_choices = list(base_choices)
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["base_choices"] = self.base_choices
        return name, path, args, kwargs

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        allowed = {key for key, _label in self.base_choices}
        unknown = [item for item in value or [] if item not in allowed]
        if unknown:
            raise exceptions.ValidationError(
                "Unknown choice: %(value)s", params={"value": ", ".join(map(str, unknown))}
            )

    def formfield(self, **kwargs):
        defaults = {
            "form_class": forms.TypedMultipleChoiceField,
            "choices": self.base_choices,
            "widget": forms.CheckboxSelectMultiple,
            "required": not self.blank,
        }
        defaults.update(kwargs)
        # Skip JSONField.formfield, which would force its own form field.
        return models.Field.formfield(self, **defaults)


class ParsedCharField(models.CharField):
    """A CharField that holds only what its parser makes of a value, whatever the way in:
    a form (the admin's included) cleans with it, and the ORM passes every value saved or
    looked up through it, so a value typed in Gujarati digits is stored, and found, as the
    ASCII one. Subclasses set `parse` (str → str, ValueError when the text is not one) and
    `invalid_message`. A value the parser refuses is left as it is for the field's
    validators to refuse."""

    parse = staticmethod(str)
    invalid_message = _("Enter a valid value.")

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return value
        try:
            return self.parse(value)
        except ValueError:
            raise exceptions.ValidationError(self.invalid_message, code="invalid") from None

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if isinstance(value, str) and value:
            try:
                return self.parse(value)
            except ValueError:
                return value
        return value


class IndianMobileModelField(ParsedCharField):
    """An Indian mobile, stored in the 10-digit form of kyvs.mobile.normalise_mobile."""

    parse = staticmethod(normalise_mobile)
    invalid_message = kyvs_forms.INVALID_MOBILE_MESSAGE

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 10)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": kyvs_forms.IndianMobileField, **kwargs})
