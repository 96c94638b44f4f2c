"""What starting a verification needs, whatever the channel: a name and a registered mobile
(and the purpose, among those the organisation may state). The web form dresses these
fields for people (verification/forms.py); the API and the channels to come validate their
input with `StartInput` itself, so every channel accepts and refuses exactly the same."""

from django import forms
from django.utils.translation import gettext_lazy as _

from kyvs.forms import IndianMobileField
from verification import registry

NAME_MAX_LENGTH = 100


class FullNameField(forms.CharField):
    """A person's full name as registered; refused when nothing of it is left to compare
    (registry.normalise_name), e.g. only punctuation. Cleans to the text as typed."""

    default_error_messages = {
        "required": _("Enter the customer's full name."),
        "blank": _("Enter the customer's full name."),
        "max_length": _("A name can be at most %(limit_value)d characters."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", NAME_MAX_LENGTH)
        super().__init__(**kwargs)

    def validate(self, value):
        super().validate(value)
        if value and not registry.normalise_name(value):
            raise forms.ValidationError(self.error_messages["blank"], code="blank")


class PersonInput(forms.Form):
    """full_name, mobile_number (cleaned to 10 digits): who is to be checked. The citizen's
    own check ("My status") asks for this alone."""

    full_name = FullNameField(label=_("Customer's full name"))
    mobile_number = IndianMobileField(
        label=_("Registered mobile number"),
        error_messages={"required": _("Enter the customer's registered mobile number.")},
    )

    def error_summary(self) -> str:
        """Every field's first problem, 'field: message' each, in the form's field order
        and separated by spaces: an API client learns all it must fix from one answer."""
        return " ".join(f"{name}: {errors[0]}" for name, errors in self.errors.items())


class StartInput(PersonInput):
    """full_name, mobile_number (cleaned to 10 digits), purpose (one of `purposes`)."""

    purpose = forms.ChoiceField(
        label=_("Purpose"), error_messages={"required": _("Choose why you are asking.")}
    )

    def __init__(self, *args, purposes: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = purposes
        if len(purposes) == 1:
            self.fields["purpose"].initial = purposes[0][0]

    def start_arguments(self) -> dict:
        """The cleaned input as services.start_verification's keyword arguments (with the
        customer's `language` when the form asks for it)."""
        data = self.cleaned_data
        arguments = {
            "full_name": data["full_name"],
            "mobile": data["mobile_number"],
            "purpose": data["purpose"],
        }
        if data.get("language"):
            arguments["language"] = data["language"]
        return arguments
