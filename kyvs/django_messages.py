"""Django's own messages that reach our pages, marked so makemessages keeps them in our catalogs.

Django ships no Gujarati catalog, so without these its form errors, sign-in error, password
rules and month names would show in English on Gujarati pages. Translations of the 'django'
domain are merged, and ours (LOCALE_PATHS) win over Django's, so marking Django's exact msgids
here is enough: this module is never imported, it exists for makemessages only.

Each msgid is copied exactly from the installed Django (5.2), curly apostrophes included. Only
messages our forms, views and templates can show are listed; add one when a page starts to
use another Django form, field or date format.
"""

from django.utils.translation import gettext_noop, ngettext_lazy, pgettext_lazy

# django/forms/fields.py: the fields of our forms (providers/forms.py, verification/forms.py).
FORM_FIELDS = [
    gettext_noop("This field is required."),
    gettext_noop("Enter a whole number."),
    gettext_noop("Enter a valid date."),
    gettext_noop("Enter a valid URL."),
    gettext_noop("Select a valid choice. %(value)s is not one of the available choices."),
    gettext_noop("Enter a list of values."),
]

# django/core/validators.py: EmailField, URLField, max_length and min_value.
VALIDATORS = [
    gettext_noop("Enter a valid email address."),
    gettext_noop("Ensure this value is greater than or equal to %(limit_value)s."),
    ngettext_lazy(
        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
        "limit_value",
    ),
]

# django/contrib/auth/forms.py: sign-in, password reset, invitation (SetPasswordForm).
AUTH_FORMS = [
    gettext_noop(
        "Please enter a correct %(username)s and password. Note that both "
        "fields may be case-sensitive."
    ),
    gettext_noop("This account is inactive."),
    gettext_noop("Password"),
    gettext_noop("Email"),
    gettext_noop("The two password fields didn’t match."),
    gettext_noop("New password"),
    gettext_noop("New password confirmation"),
    gettext_noop("Enter the same password as before, for verification."),
]

# django/contrib/auth/models.py: the field names the messages above and below put in.
USER_FIELDS = [
    gettext_noop("username"),
    gettext_noop("first name"),
    gettext_noop("last name"),
    gettext_noop("email address"),
]

# django/contrib/auth/password_validation.py: AUTH_PASSWORD_VALIDATORS' errors and rules.
PASSWORD_VALIDATORS = [
    gettext_noop("The password is too similar to the %(verbose_name)s."),
    gettext_noop("Your password can’t be too similar to your other personal information."),
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        8,
    ),
    ngettext_lazy(
        "Your password must contain at least %(min_length)d character.",
        "Your password must contain at least %(min_length)d characters.",
        8,
    ),
    gettext_noop("This password is too common."),
    gettext_noop("Your password can’t be a commonly used password."),
    gettext_noop("This password is entirely numeric."),
    gettext_noop("Your password can’t be entirely numeric."),
]

# django/utils/dates.py: MONTHS_3, what the "M" of our templates' "j M Y" and "j M, H:i"
# formats shows (title-cased, which leaves Gujarati and Devanagari as they are).
MONTHS_3 = [
    gettext_noop("jan"),
    gettext_noop("feb"),
    gettext_noop("mar"),
    gettext_noop("apr"),
    gettext_noop("may"),
    gettext_noop("jun"),
    gettext_noop("jul"),
    gettext_noop("aug"),
    gettext_noop("sep"),
    gettext_noop("oct"),
    gettext_noop("nov"),
    gettext_noop("dec"),
]

# django/utils/dates.py: MONTHS_AP, the "N" of Django's default DATE_FORMAT ("N j, Y"),
# used in Gujarati (which has no formats of its own) for a date shown without a format:
# a dose's date on the result page.
MONTHS_AP = [
    pgettext_lazy("abbrev. month", "Jan."),
    pgettext_lazy("abbrev. month", "Feb."),
    pgettext_lazy("abbrev. month", "March"),
    pgettext_lazy("abbrev. month", "April"),
    pgettext_lazy("abbrev. month", "May"),
    pgettext_lazy("abbrev. month", "June"),
    pgettext_lazy("abbrev. month", "July"),
    pgettext_lazy("abbrev. month", "Aug."),
    pgettext_lazy("abbrev. month", "Sept."),
    pgettext_lazy("abbrev. month", "Oct."),
    pgettext_lazy("abbrev. month", "Nov."),
    pgettext_lazy("abbrev. month", "Dec."),
]

# django/utils/dates.py: MONTHS, the "F" of Django's Hindi DATE_FORMAT ("j F Y"), used there
# for a date shown without a format (a dose's date on the result page).
MONTHS = [
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
]
