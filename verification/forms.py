"""The hosted page's forms: the channel-neutral start input (verification/inputs.py) dressed
for a person at a counter, and the OTP as the customer types it."""

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from kyvs.forms import FocusFirstError
from verification import otp as otps
from verification.inputs import StartInput


class StartForm(FocusFirstError, StartInput):
    """The operator's form: the start input, and the customer's language (the SMS and the
    customer's screen speak it; the operator's own comes back with the next customer)."""

    # Optional: a form without it (the embedded page's) speaks the screen's language.
    language = forms.ChoiceField(
        label=_("Customer's language"), choices=settings.LANGUAGES, required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = translation.get_language()
        name, mobile, purpose = (self.fields[f] for f in ("full_name", "mobile_number", "purpose"))
        name.help_text = _("As registered for vaccination.")
        name.widget.attrs.update({"autocomplete": "off", "autofocus": True})
        mobile.help_text = _("10 digits; +91, a leading 0, spaces and hyphens are fine.")
        mobile.widget.attrs.update({"autocomplete": "off"})
        purpose.widget = forms.RadioSelect(choices=purpose.choices)


class OtpForm(FocusFirstError, forms.Form):
    otp = forms.CharField(
        label=_("One-time password (OTP)"),
        # Room for spaces and invisible marks around the six digits; parse_otp reads them.
        max_length=20,
        error_messages={
            "required": _("Type the 6-digit code from the SMS."),
            "max_length": _("The code has 6 digits."),
        },
        widget=forms.TextInput(
            attrs={
                # No `pattern`: six Gujarati or Devanagari digits are a right code too.
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "autofocus": True,
                # The consent page writes its own help (the code's expiry time), which
                # Django cannot know of; ids that are absent (no error yet) are ignored.
                "aria-describedby": "id_otp_helptext id_otp_error",
            }
        ),
    )

    def clean_otp(self) -> str:
        code = otps.parse_otp(self.cleaned_data["otp"])
        if code is None or len(code) != otps.OTP_DIGITS:
            raise forms.ValidationError(_("The code has 6 digits."))
        return code
