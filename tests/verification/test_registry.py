from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kyvs.mobile import InvalidMobile, mask_mobile, normalise_mobile
from tests.factories import add_dose, make_beneficiary
from verification.models import Beneficiary, VaccinationStatus
from verification.registry import normalise_name

pytestmark = pytest.mark.django_db

D1, D2, D3, D4 = date(2021, 5, 1), date(2021, 7, 1), date(2021, 9, 1), date(2022, 4, 1)


@pytest.mark.parametrize(
    ("vaccine", "full_after"),
    [
        ("Covishield", 2),
        ("Covaxin", 2),
        ("Sputnik V", 2),
        ("Corbevax", 2),
        ("Covovax", 2),
        ("ZyCoV-D", 3),
        ("Sputnik Light", 1),
        ("Janssen", 1),
    ],
)
def test_each_vaccine_is_full_after_its_primary_series(vaccine, full_after):
    person = make_beneficiary()
    assert person.vaccination_status() == VaccinationStatus.NOT_VACCINATED
    for number, when in enumerate([D1, D2, D3][:full_after], start=1):
        add_dose(person, vaccine, number, when)
        expected = 2 if number >= full_after else 1
        assert person.vaccination_status() == expected, f"{vaccine} after dose {number}"


def test_a_person_with_no_doses_is_not_vaccinated():
    assert make_beneficiary().vaccination_status() == 0


def test_mixed_vaccines_follow_the_first_doses_vaccine():
    person = make_beneficiary()
    add_dose(person, "Covishield", 1, D1)
    add_dose(person, "Covaxin", 2, D2)
    assert person.vaccination_status() == VaccinationStatus.FULLY_VACCINATED


def test_a_single_dose_vaccine_after_a_two_dose_first_dose_counts_against_the_first():
    person = make_beneficiary()
    add_dose(person, "ZyCoV-D", 1, D1)
    add_dose(person, "Janssen", 2, D2)
    assert person.vaccination_status() == VaccinationStatus.PARTIALLY_VACCINATED


def test_the_first_dose_is_the_earliest_by_date_not_by_entry_order():
    person = make_beneficiary()
    add_dose(person, "Covishield", 2, D2)
    add_dose(person, "Janssen", 1, D1)
    assert person.vaccination_status() == VaccinationStatus.FULLY_VACCINATED


def test_precaution_doses_alone_do_not_make_anyone_vaccinated():
    person = make_beneficiary()
    add_dose(person, "Covishield", 1, D1, kind="precaution")
    assert person.vaccination_status() == VaccinationStatus.NOT_VACCINATED


def test_precaution_doses_do_not_complete_a_primary_series():
    person = make_beneficiary()
    add_dose(person, "Covishield", 1, D1)
    add_dose(person, "Covishield", 1, D4, kind="precaution")
    assert person.vaccination_status() == VaccinationStatus.PARTIALLY_VACCINATED


def test_precaution_doses_never_lower_a_full_status():
    person = make_beneficiary()
    add_dose(person, "Covaxin", 1, D1)
    add_dose(person, "Covaxin", 2, D2)
    add_dose(person, "ZyCoV-D", 1, D4, kind="precaution")
    assert person.vaccination_status() == VaccinationStatus.FULLY_VACCINATED


def test_the_rule_reads_the_vaccine_table_so_an_admin_edit_takes_effect():
    from verification.models import Vaccine

    Vaccine.objects.filter(name="Covishield").update(primary_doses_required=3)
    person = make_beneficiary()
    add_dose(person, "Covishield", 1, D1)
    add_dose(person, "Covishield", 2, D2)
    assert person.vaccination_status() == VaccinationStatus.PARTIALLY_VACCINATED


@pytest.mark.parametrize(
    ("typed", "registered"),
    [
        ("Ravi Kumar", "RAVI KUMAR"),
        ("  ravi   kumar ", "Ravi Kumar"),
        ("Dr. Ravi K. Shah", "dr ravi k shah"),
        ("Ravi-Kumar", "Ravi Kumar"),
        ("O'Brien", "o brien"),
        ("Ｒａｖｉ", "Ravi"),  # full-width letters
        ("José", "Jose\u0301"),  # precomposed vs combining accent
        ("STRASSE", "straße"),  # casefold, not lower
        ("અમિત પટેલ", "અમિત  પટેલ"),
        ("क्षमा\u200d", "क्षमा"),  # zero-width joiner dropped
    ],
)
def test_names_match_whatever_their_case_spacing_dots_and_composition(typed, registered):
    assert normalise_name(typed) == normalise_name(registered)


def test_different_names_stay_different():
    assert normalise_name("Ravi Kumar") != normalise_name("Ravi Kumari")
    assert normalise_name("અમિત") != normalise_name("અમીત")


def test_a_name_of_only_punctuation_normalises_to_nothing():
    assert normalise_name(" .,- ") == ""


@pytest.mark.parametrize(
    "typed",
    [
        "9876543210",
        "+91 98765 43210",
        "+91-98765-43210",
        "+919876543210",
        "919876543210",
        "09876543210",
        "98765-43210",
        "(987) 654 3210",
        "९८७६५४३२१०",  # Devanagari digits
        "૯૮૭૬૫૪૩૨૧૦",  # Gujarati digits
    ],
)
def test_indian_mobiles_are_accepted_in_everyday_formats(typed):
    assert normalise_mobile(typed) == "9876543210"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "12345",
        "5876543210",
        "98765432101",
        "+1 9876543210",
        "98765abc10",
        "+9198765432",
        "0091 9876543210x",
        "9876543210\x00",
        "+91+9876543210",
    ],
)
def test_anything_but_an_indian_mobile_is_refused(typed):
    with pytest.raises(InvalidMobile):
        normalise_mobile(typed)


def test_a_masked_mobile_shows_only_the_last_four_digits():
    assert mask_mobile("9876543210") == "••••••3210"


def test_beneficiaries_are_found_by_normalised_name_and_mobile():
    asha = make_beneficiary(name="Asha  Patel", mobile="9876543210")
    make_beneficiary(name="Asha Patel", mobile="9123456789")
    assert list(
        Beneficiary.objects.matching("asha patel", normalise_mobile("+91 98765 43210"))
    ) == [asha]


def test_a_reference_id_is_registered_once():
    from django.db import IntegrityError, transaction

    make_beneficiary(reference_id="12345678901234")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_beneficiary(reference_id="12345678901234")


def test_the_registry_tables_carry_only_the_indexes_its_queries_use():
    """Every index on these tables is written by each imported row (docs/benchmarks.md):
    the primary keys, the reference id's uniqueness, the match by mobile and name, one
    dose per number (which serves look-ups by beneficiary too) and the vaccine's foreign
    key (which a vaccine's deletion checks)."""
    from django.db import connection

    with connection.cursor() as cursor:
        indexed = {
            table: sorted(
                tuple(details["columns"])
                for details in connection.introspection.get_constraints(cursor, table).values()
                if details["index"] or details["unique"] or details["primary_key"]
            )
            for table in ("verification_beneficiary", "verification_dose")
        }
    assert indexed == {
        "verification_beneficiary": [("id",), ("mobile", "name_normalised"), ("reference_id",)],
        "verification_dose": [("beneficiary_id", "kind", "dose_number"), ("id",), ("vaccine_id",)],
    }


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_an_ascii_name_normalises_as_a_name_in_any_script_would(name):
    from verification.registry import _normalise_any

    assert normalise_name(name) == _normalise_any(name)
