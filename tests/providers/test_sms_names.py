"""Each organisation's name in SMS (providers/sms_names.py): short, of one small alphabet,
asked for when applying, approved by the registry admin, and the only name an SMS carries."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from providers.models import Organisation
from providers.sms_names import sms_name_from, validate_sms_name
from tests.conftest import otp_from
from tests.factories import make_organisation
from tests.providers.helpers import apply
from verification.services import confirm_verification, start_verification

LONG_NAME = "Sahyatri Travels & Tours (Ahmedabad) Private Limited — since 1987"


@pytest.mark.parametrize(
    "name", ["Navrang Cinemas", "A & B", "Dr. Shah-Mehta Clinic", "Hotel 7 Seas", "X" * 30]
)
def test_a_short_plain_name_is_a_valid_name_in_sms(name):
    validate_sms_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "X" * 31,
        "Navrang  Cinemas",  # two spaces
        " Navrang",
        "Navrang <b>",
        "Navrang: click bit.ly/x",
        "નવરંગ",
        "Nаvrang",  # a Cyrillic а among Latin letters
        "123 456",
        "& - .",
        "",
    ],
)
def test_anything_else_is_not(name):
    with pytest.raises(ValidationError):
        validate_sms_name(name)


@pytest.mark.parametrize(
    "name, made",
    [
        ("Navrang Cinemas", "Navrang Cinemas"),
        (LONG_NAME, "Sahyatri Travels & Tours"),
        ("Café Île-de-France", "Cafe Ile-de-France"),
        ("Shah & Sons & Daughters Hospitality", "Shah & Sons & Daughters"),
        ("O'Neil  (India)\tServices", "O Neil India Services"),
        ("Supercalifragilisticexpialidocious Travels", "Supercalifragilisticexpialidocious"[:30]),
        ("નવરંગ સિનેમા", ""),
    ],
)
def test_a_name_in_sms_is_made_from_a_registered_name(name, made):
    assert sms_name_from(name) == made


@given(st.text(max_size=250))
def test_a_name_made_from_any_text_is_valid_or_empty(text):
    made = sms_name_from(text)
    if made:
        validate_sms_name(made)


@pytest.mark.django_db
def test_an_organisation_made_without_one_gets_one_from_its_name():
    assert make_organisation(name=LONG_NAME).sms_name == "Sahyatri Travels & Tours"
    gujarati = make_organisation(name="નવરંગ સિનેમા", registration_number="GOV-GJ-HEALTH-0042")
    assert gujarati.sms_name == "GOV-GJ-HEALTH-0042"


@pytest.mark.django_db
def test_the_registry_admin_cannot_give_two_organisations_one_name_in_sms():
    make_organisation(name="Navrang Talkies", sms_name="Navrang")
    other = make_organisation(name="Navrang Cinemas")
    other.sms_name = "NAVRANG"
    with pytest.raises(ValidationError, match="Another organisation already has this name"):
        other.full_clean()


# Applying


@pytest.mark.django_db
def test_the_applicant_chooses_the_name_in_sms(client):
    assert apply(client, name=LONG_NAME, sms_name="  Sahyatri   Travels ").status_code == 302
    assert Organisation.objects.get(name=LONG_NAME).sms_name == "Sahyatri Travels"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sms_name, said",
    [
        ("", "This field is required"),
        ("Navrang Cinemas and Multiplex Ltd", "at most 30 characters"),
        ("Navrang ✓ Cinemas", "Use only English letters, digits, single spaces and the signs"),
        ("नवरंग", "Use only English letters"),
        ("2024", "Include at least one letter"),
    ],
)
def test_a_name_in_sms_against_the_rules_is_refused_with_a_reason(client, sms_name, said):
    response = apply(client, sms_name=sms_name)
    assert response.status_code == 200
    assert said in response.content.decode()
    assert not Organisation.objects.filter(name="Navrang Cinemas").exists()


@pytest.mark.django_db
def test_a_name_in_sms_another_organisation_has_is_refused(client):
    make_organisation(name="Navrang Talkies", sms_name="Navrang Cinemas")
    response = apply(client, sms_name="NAVRANG cinemas")
    assert "Another organisation already has this name in SMS." in response.content.decode()
    assert not Organisation.objects.filter(name="Navrang Cinemas").exists()


# The SMS


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "gu", "hi"])
def test_every_sms_names_the_organisation_by_its_name_in_sms(
    language, bob, organisation, asha, sms_outbox
):
    organisation.name = LONG_NAME
    organisation.sms_name = "Sahyatri Travels"
    organisation.save()
    with translation.override(language):
        verification = start_verification(
            organisation=organisation,
            operator=bob,
            full_name=asha.name,
            mobile=asha.mobile,
            purpose="travel",
        )
    assert confirm_verification(verification, otp_from(sms_outbox[0])).ok
    otp_sms, receipt = sms_outbox
    for sms in (otp_sms, receipt):
        assert "Sahyatri Travels" in sms.body
        assert "Ahmedabad" not in sms.body and "Private" not in sms.body


# Organisations that existed before the name in SMS


@pytest.mark.django_db(transaction=True)
def test_existing_organisations_are_given_a_name_in_sms_made_from_theirs():
    before = [("providers", "0006_membership_language")]
    after = [("providers", "0007_organisation_sms_name")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("providers", "Organisation")
        for name, number in [(LONG_NAME, ""), ("નવરંગ સિનેમા", ""), ("Navrang", "")]:
            old.objects.create(name=name, kind="other", registration_number=number)
        executor = MigrationExecutor(connection)
        executor.migrate(after)
    finally:
        MigrationExecutor(connection).migrate(executor.loader.graph.leaf_nodes())
    named = dict(Organisation.objects.values_list("name", "sms_name"))
    assert named == {
        LONG_NAME: "Sahyatri Travels & Tours",
        "નવરંગ સિનેમા": "Organisation",
        "Navrang": "Navrang",
    }
