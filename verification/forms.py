from django import forms
from django.utils.translation import gettext_lazy as _

from verification import otp as otps
from verification import registry

NAME_MAX_LENGTH = 100


class StartForm(forms.Form):
    full_name = forms.CharField(
        label=_("Customer's full name"),
        help_text=_("As registered for vaccination."),
        max_length=NAME_MAX_LENGTH,
        error_messages={
            "required": _("Enter the customer's full name."),
            "max_length": _("A name can be at most %(limit_value)d characters."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
    mobile_number = forms.CharField(
        label=_("Registered mobile number"),
        help_text=_("10 digits; +91, a leading 0, spaces and hyphens are fine."),
        max_length=20,
        error_messages={
            "required": _("Enter the customer's registered mobile number."),
            "max_length": _("Enter a 10-digit Indian mobile number, such as 98765 43210."),
        },
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    purpose = forms.ChoiceField(
        label=_("Purpose"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose why you are asking.")},
    )

    def __init__(self, *args, purposes: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = purposes
        if len(purposes) == 1:
            self.fields["purpose"].initial = purposes[0][0]

    def clean_full_name(self) -> str:
        name = self.cleaned_data["full_name"]
        if not registry.normalise_name(name):
            raise forms.ValidationError(_("Enter the customer's full name."))
        return name

    def clean_mobile_number(self) -> str:
        try:
            return registry.normalise_mobile(self.cleaned_data["mobile_number"])
        except registry.InvalidMobile:
            raise forms.ValidationError(
                _("Enter a 10-digit Indian mobile number, such as 98765 43210.")
            ) from None


class OtpForm(forms.Form):
    otp = forms.CharField(
        label=_("One-time password (OTP)"),
        max_length=6,
        min_length=6,
        error_messages={
            "required": _("Type the 6-digit code from the SMS."),
            "min_length": _("The code has 6 digits."),
            "max_length": _("The code has 6 digits."),
        },
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]{6}",
                "autofocus": True,
                # The consent page writes its own help (the code's expiry time), which
                # Django cannot know of; ids that are absent (no error yet) are ignored.
                "aria-describedby": "id_otp_helptext id_otp_error",
            }
        ),
    )

    def clean_otp(self) -> str:
        code = "".join(self.cleaned_data["otp"].split())
        if not (len(code) == otps.OTP_DIGITS and otps.is_well_formed(code)):
            raise forms.ValidationError(_("The code has 6 digits."))
        return code
