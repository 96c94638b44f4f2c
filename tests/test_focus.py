"""After a refused submission the first field in error takes the focus (kyvs.forms.
FocusFirstError), not the form's first box."""

import re

import pytest

from providers.forms import ApplicationForm
from tests.providers.helpers import application
from verification.forms import StartForm

pytestmark = pytest.mark.django_db


def autofocused(form) -> list[str]:
    """The ids of the form's boxes that carry `autofocus`, in the page's order."""
    tags = re.findall(r"<(?:input|select|textarea)\b[^>]*>", str(form))
    return [
        re.search(r'\sid="([^"]+)"', tag).group(1)
        for tag in tags
        if re.search(r"\bautofocus\b", tag)
    ]


def test_the_operators_form_starts_on_the_name():
    form = StartForm(purposes=[("travel", "Travel")])
    assert autofocused(form) == ["id_full_name"]


def test_a_wrong_mobile_takes_the_focus_from_the_name():
    form = StartForm(
        {"full_name": "Asha Patel", "mobile_number": "12345", "purpose": "travel"},
        purposes=[("travel", "Travel")],
    )
    assert not form.is_valid()
    assert autofocused(form) == ["id_mobile_number"]


def test_the_first_field_in_error_of_a_long_form_takes_the_focus():
    form = ApplicationForm(application(registration_number="bad", contact_name=""))
    assert not form.is_valid()
    assert autofocused(form) == ["id_registration_number"]


def test_an_error_of_the_whole_form_leaves_the_focus_where_it_was():
    form = StartForm(
        {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"},
        purposes=[("travel", "Travel")],
    )
    assert form.is_valid()
    form.add_error(None, "Refused.")
    assert autofocused(form) == ["id_full_name"]
