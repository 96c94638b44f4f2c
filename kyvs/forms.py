"""Form fields that both apps use."""

from django import forms
from django.utils.translation import gettext_lazy as _

from kyvs.mobile import InvalidMobile, normalise_mobile

INVALID_MOBILE_MESSAGE = _("Enter a 10-digit Indian mobile number, such as 98765 43210.")


class IndianMobileField(forms.CharField):
    """A mobile number as people type it; cleans to the 10-digit form (kyvs.mobile)."""

    default_error_messages = {
        "invalid": INVALID_MOBILE_MESSAGE,
        "max_length": INVALID_MOBILE_MESSAGE,
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "inputmode": "tel"}

    def to_python(self, value) -> str:
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        try:
            return normalise_mobile(value)
        except InvalidMobile:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class FocusFirstError:
    """A form mixin: once the form has errors, the first field in error (in the fields'
    order, which is the order the page shows them) takes the `autofocus`, and no other
    field keeps one. So after a refused submission the cursor, and a screen reader, land on
    what needs correcting rather than on the form's first box. Errors added by a view after
    validation (`add_error`) move the focus too; errors of the whole form leave it alone."""

    def add_error(self, field, error):
        super().add_error(field, error)
        first = next((name for name in self.fields if name in self._errors), None)
        if first is None:
            return
        for name, form_field in self.fields.items():
            if name == first:
                form_field.widget.attrs["autofocus"] = True
            else:
                form_field.widget.attrs.pop("autofocus", None)
