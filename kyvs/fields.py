from django import forms
from django.core import exceptions
from django.db import models


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
