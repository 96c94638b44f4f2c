import io
import re
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count

from providers.models import Membership, Organisation, Purpose
from verification.models import Beneficiary, Dose, VaccinationStatus, Vaccine

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    """The output of one seed_demo run."""
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def statuses() -> Counter:
    people = Beneficiary.objects.prefetch_related("doses__vaccine")
    return Counter(person.vaccination_status() for person in people)


def test_it_makes_at_least_a_thousand_beneficiaries_in_every_status(seeded):
    assert Beneficiary.objects.count() >= 1000
    counts = statuses()
    assert set(counts) == set(VaccinationStatus)
    assert all(count >= 50 for count in counts.values())


def test_every_vaccine_is_used_and_completes_someones_series(seeded):
    for vaccine in Vaccine.objects.all():
        completed = [
            person
            for person in Beneficiary.objects.filter(
                doses__vaccine=vaccine, doses__dose_number=1, doses__kind="primary"
            )
            if person.vaccination_status() == VaccinationStatus.FULLY_VACCINATED
        ]
        assert completed, vaccine.name


def test_some_people_have_precaution_doses(seeded):
    assert Dose.objects.filter(kind=Dose.Kind.PRECAUTION).count() >= 100


def test_some_names_are_in_gujarati_and_in_hindi(seeded):
    names = list(Beneficiary.objects.values_list("name", flat=True))
    assert sum(bool(re.search("[\u0a80-\u0aff]", n)) for n in names) >= 20
    assert sum(bool(re.search("[\u0900-\u097f]", n)) for n in names) >= 20


def test_one_mobile_is_shared_by_four_people_each_findable_by_name(seeded):
    shared = Beneficiary.objects.values("mobile").annotate(n=Count("pk")).filter(n__gte=2).get()
    assert shared["n"] == 4
    for name in ["Ramesh Shah", "Sunita Shah", "Arjun Shah", "Diya Shah"]:
        assert Beneficiary.objects.matching(name, shared["mobile"]).count() == 1


def test_the_printed_pairs_match_one_person_each_with_the_status_it_says(seeded):
    tried = re.findall(r"^  (.+?) +(\d{10})  (.+)$", seeded, flags=re.MULTILINE)
    by_status = {}
    for name, mobile, note in tried:
        matches = list(Beneficiary.objects.matching(name, mobile))
        if note.startswith("no match"):
            assert matches == []
            continue
        assert len(matches) == 1, (name, mobile)
        by_status[matches[0].vaccination_status()] = note
    assert set(by_status) == set(VaccinationStatus)
    assert "not vaccinated" in by_status[VaccinationStatus.NOT_VACCINATED]
    assert "partially" in by_status[VaccinationStatus.PARTIALLY_VACCINATED]
    assert "no match" in seeded


def test_it_makes_an_approved_demo_organisation_with_an_operator_and_an_admin(seeded):
    organisation = Organisation.objects.get(name="Demo Travels")
    assert organisation.is_approved
    assert set(organisation.scopes) == {"vaccinations", "demographics"}
    assert set(organisation.purposes) == set(Purpose.values)
    roles = dict(organisation.memberships.values_list("user__username", "role"))
    assert roles == {"operator": Membership.Role.OPERATOR, "orgadmin": Membership.Role.ADMIN}
    assert get_user_model().objects.get(username="admin").is_superuser


def test_the_printed_password_logs_the_operator_in(seeded, client):
    password = re.search(r"password for all three: (\S+)\)", seeded).group(1)

    assert client.login(username="operator", password=password)
    assert client.login(username="admin", password=password)


def test_running_it_twice_adds_nothing(seeded):
    before = (
        Beneficiary.objects.count(),
        Dose.objects.count(),
        Organisation.objects.count(),
        get_user_model().objects.count(),
        statuses(),
    )

    out = io.StringIO()
    call_command("seed_demo", "--password", "another-demo-password", stdout=out)

    after = (
        Beneficiary.objects.count(),
        Dose.objects.count(),
        Organisation.objects.count(),
        get_user_model().objects.count(),
        statuses(),
    )
    assert after == before
    assert "0 created" in out.getvalue()
    assert (
        get_user_model().objects.get(username="operator").check_password("another-demo-password")
    )
