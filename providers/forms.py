from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.utils.translation import gettext_lazy as _

from kyvs.forms import FocusFirstError, IndianMobileField
from kyvs.text import plain_digits
from providers import registration
from providers.models import Membership, Organisation, Purpose, Scope
from providers.origins import parse_origins


class ApplicationForm(FocusFirstError, forms.Form):
    name = forms.CharField(label=_("Organisation name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind of organisation"), choices=Organisation.Kind.choices)
    sector = forms.ChoiceField(
        label=_("Sector"), choices=Organisation.Sector.choices, widget=forms.RadioSelect
    )
    registration_kind = forms.ChoiceField(
        label=_("Registration number kind"),
        choices=registration.RegistrationKind.choices,
        widget=forms.RadioSelect,
    )
    registration_number = forms.CharField(
        label=_("Registration number"),
        max_length=32,
        help_text=_(
            "CIN: 21 characters, like L17110MH1973PLC019786. GSTIN: 15 characters, like "
            "24AAACC1206D1ZM. Government offices without either: GOV-<state code>-"
            "<department>-<office number>, like GOV-GJ-HEALTH-0042."
        ),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )
    address = forms.CharField(
        label=_("Registered address"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    indian_state = forms.ChoiceField(
        label=_("State or union territory"),
        choices=[("", _("Choose…")), *registration.IndianState.choices],
    )
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    purposes = forms.MultipleChoiceField(
        label=_("Purposes you will verify for"),
        choices=Purpose.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one purpose.")},
    )
    scopes = forms.MultipleChoiceField(
        label=_("Data beyond the vaccination status"),
        help_text=_(
            "Every approved organisation sees the status. Ask for more only if you need it, "
            "and say why."
        ),
        choices=Scope.beyond_status,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    reason_vaccinations = forms.CharField(
        label=_("Why you need the vaccination events"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    reason_demographics = forms.CharField(
        label=_("Why you need the demographics"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    contact_name = forms.CharField(label=_("Contact person"), max_length=200)
    email = forms.EmailField(
        label=_("Official e-mail"),
        help_text=_("This will be your sign-in name, and where we write to you."),
    )
    mobile = IndianMobileField(
        label=_("Official mobile"),
        widget=forms.TextInput(attrs={"autocomplete": "tel"}),
    )
    password1 = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not only digits, not a common password."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    accept_terms = forms.BooleanField(
        label=_(
            "We accept the terms of use: we will ask only with the customer present and "
            "consenting, for the purpose stated, and will not keep what we are shown beyond "
            "what the law requires."
        ),
        error_messages={"required": _("The terms must be accepted to apply.")},
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if Organisation.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError(_("An organisation of this name is already registered."))
        return name

    def clean_registration_number(self) -> str:
        return registration.normalise(self.cleaned_data["registration_number"])

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(username__iexact=email).exists():
            raise forms.ValidationError(
                _("This e-mail address cannot be used for a new application. Sign in instead.")
            )
        return email

    def clean(self):
        data = super().clean()
        kind, number = data.get("registration_kind"), data.get("registration_number")
        if kind and number:
            example = registration.EXAMPLES[kind]
            if not registration.is_valid(kind, number):
                self.add_error(
                    "registration_number",
                    _("This is not a valid %(kind)s. It looks like %(example)s.")
                    % {"kind": registration.RegistrationKind(kind).label, "example": example},
                )
            elif (
                kind == registration.RegistrationKind.GOVERNMENT
                and data.get("sector") != Organisation.Sector.GOVERNMENT
            ):
                self.add_error(
                    "registration_kind",
                    _("Only government organisations can apply with a government office code."),
                )
            elif Organisation.objects.filter(registration_number=number).exists():
                self.add_error(
                    "registration_number",
                    _(
                        "An organisation with this registration number has already applied. "
                        "If it is yours, ask its admin to invite you, or contact the registry."
                    ),
                )
        for scope in data.get("scopes") or []:
            if not data.get(f"reason_{scope}", "").strip():
                self.add_error(f"reason_{scope}", _("Say why you need this data."))
        password = data.get("password1")
        if password and data.get("password2") and password != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        elif password:
            user = get_user_model()(username=data.get("email", ""), email=data.get("email", ""))
            try:
                password_validation.validate_password(password, user)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data

    def full_clean(self):
        """Validate; then, if the form comes back with errors, keep the password in its two
        boxes when it was accepted (long enough, not common, both the same), so that a
        mistake elsewhere does not cost the applicant their password. A password that was
        refused is cleared, as it has to be typed again anyway. The page that shows it
        again is never stored (providers/views/apply.py)."""
        super().full_clean()
        accepted = (
            self.is_bound
            and self.data.get("password1")
            and not self.has_error("password1")
            and not self.has_error("password2")
        )
        for name in ("password1", "password2"):
            self.fields[name].widget.render_value = bool(accepted)

    def scope_reasons(self) -> dict[str, str]:
        return {
            scope: self.cleaned_data[f"reason_{scope}"].strip()
            for scope in self.cleaned_data["scopes"]
        }


class InviteForm(FocusFirstError, forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=Membership.Role.choices,
        initial=Membership.Role.OPERATOR,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        user = get_user_model().objects.filter(username__iexact=email).first()
        if user is None:
            return email
        membership = getattr(user, "membership", None)
        if membership is None or membership.organisation_id != self.organisation.pk:
            raise forms.ValidationError(_("This address is already used by another account."))
        if user.is_active and user.has_usable_password():
            raise forms.ValidationError(_("This person is already a member."))
        return email


class EmbedOriginsForm(FocusFirstError, forms.Form):
    origins = forms.CharField(
        label=_("Your website's origins"),
        required=False,
        help_text=_(
            "One a line, such as https://booking.example.com (https only; no path). Only "
            "pages from these origins can show the KYVS frame. Leave empty to allow none."
        ),
        widget=forms.Textarea(
            attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off", "inputmode": "url"}
        ),
    )

    def clean_origins(self) -> list[str]:
        return parse_origins(
            self.cleaned_data["origins"].splitlines(), allow_loopback_http=settings.DEBUG
        )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class HistoryFilterForm(FocusFirstError, forms.Form):
    # type=date sends ISO dates (YYYY-MM-DD) whatever the page's language.
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a date, such as 2026-11-30.")},
    )
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a date, such as 2026-11-30.")},
    )
    operator = forms.ChoiceField(label=_("Operator"), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False)

    def __init__(self, *args, organisation: Organisation, outcomes, **kwargs):
        super().__init__(*args, **kwargs)
        members = organisation.memberships.select_related("user").order_by("user__username")
        self.fields["operator"].choices = [("", _("Everyone"))] + [
            (str(m.public_id), m.user.get_username()) for m in members
        ]
        self.fields["outcome"].choices = [("", _("Any outcome")), *outcomes]

    def clean(self):
        data = super().clean()
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and first > last:
            # Said, not silently answered with nothing: the two dates are probably swapped.
            self.add_error("date_to", _("“To” must be on or after “From”."))
        return data


class CodeForm(FocusFirstError, forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={
                # Not inputmode=numeric: a backup code (like "yp5j2-nw9dc") has letters.
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "autofocus": True,
                "spellcheck": "false",
            }
        ),
        error_messages={"required": _("Type the code.")},
    )

    def clean_code(self) -> str:
        # Digits of any script and pasted invisible marks read as the person meant them.
        return plain_digits(self.cleaned_data["code"])


class ApproveForm(forms.Form):
    scopes = forms.MultipleChoiceField(
        label=_("Data granted beyond the status"),
        choices=Scope.beyond_status,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    purposes = forms.MultipleChoiceField(
        label=_("Purposes granted"), choices=Purpose.choices, widget=forms.CheckboxSelectMultiple
    )
    daily_quota = forms.IntegerField(label=_("Daily quota"), min_value=1, initial=1000)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (sent to the organisation)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )
