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
