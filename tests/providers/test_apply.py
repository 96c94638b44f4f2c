import pytest
from django.core import mail

from providers.models import Membership, Organisation
from tests.factories import make_organisation
from tests.providers.helpers import APPLICATION, application, apply, user

pytestmark = pytest.mark.django_db


def test_the_application_form_is_public(client):
    response = client.get("/providers/apply/")
    assert response.status_code == 200
    page = response.content.decode()
    for field in APPLICATION:
        assert f'name="{field}"' in page
    assert "Gujarat" in page


def test_applying_creates_a_pending_organisation_and_its_first_admin(client):
    response = apply(client)
    assert response.status_code == 302
    assert response["Location"] == "/providers/apply/done/"

    organisation = Organisation.objects.get(name="Navrang Cinemas")
    assert organisation.state == Organisation.State.PENDING
    assert organisation.registration_number == "U92130GJ2009PTC056789"
    assert organisation.contact_mobile == "9825012345"
    assert organisation.website == "https://navrang.example"
    assert organisation.requested_scopes == ["vaccinations"]
    assert organisation.requested_purposes == ["venue_entry"]
    assert organisation.scope_reasons == {"vaccinations": APPLICATION["reason_vaccinations"]}
    assert organisation.terms_accepted_at is not None
    # Nothing is granted before the registry decides.
    assert organisation.scopes == [] and organisation.purposes == []

    admin = user("meera@navrang.example")
    assert admin.check_password(APPLICATION["password1"])
    assert admin.membership.organisation == organisation
    assert admin.membership.role == Membership.Role.ADMIN


def test_the_applicant_is_told_by_e_mail_and_on_screen_what_happens_next(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = apply(client)
    [message] = mail.outbox
    assert message.to == ["meera@navrang.example"]
    assert "Navrang Cinemas" in message.subject
    assert "U92130GJ2009PTC056789" in message.body
    assert "What happens next" in client.get(response["Location"]).content.decode()


def test_a_registration_number_already_used_is_refused_clearly(client):
    make_organisation(registration_kind="cin", registration_number="U92130GJ2009PTC056789")
    response = apply(client)
    assert response.status_code == 200
    assert "already applied" in response.content.decode()
    assert not Organisation.objects.filter(name="Navrang Cinemas").exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"registration_number": "U92130GJ2009PTC05678"}, "registration_number"),
        ({"registration_kind": "gstin", "registration_number": "24AAACC1206D1ZN"}, "GSTIN"),
        ({"registration_kind": "gov", "registration_number": "GOV-GJ-HEALTH-0042"}, "government"),
        ({"reason_vaccinations": " "}, "Say why you need this data"),
        ({"mobile": "12345"}, "10-digit Indian mobile"),
        ({"accept_terms": None}, "terms must be accepted"),
        ({"password2": "something-else-entirely"}, "passwords differ"),
        ({"password1": "12345678", "password2": "12345678"}, "password"),
        ({"purposes": []}, "at least one purpose"),
    ],
)
def test_a_bad_application_is_refused_with_a_reason(client, changes, field):
    response = apply(client, **changes)
    assert response.status_code == 200
    assert field.lower() in response.content.decode().lower()
    assert not Organisation.objects.filter(name="Navrang Cinemas").exists()


def test_a_government_office_may_apply_with_an_office_code(client):
    response = apply(
        client,
        sector="government",
        kind="government_office",
        registration_kind="gov",
        registration_number="gov-gj-health-0042",
    )
    assert response.status_code == 302
    assert Organisation.objects.get(registration_number="GOV-GJ-HEALTH-0042")


def test_an_e_mail_that_already_has_an_account_cannot_apply_again(client, alice):
    alice.username = "meera@navrang.example"
    alice.save()
    response = apply(client)
    assert "cannot be used for a new application" in response.content.decode()


def nth_application(n: int) -> dict:
    """A valid application of its own: name, registration number and e-mail unused."""
    return application(
        name=f"Navrang Cinemas {n}",
        registration_number=f"U92130GJ2009PTC05678{n}",
        email=f"meera{n}@navrang.example",
    )


def test_applications_with_mistakes_do_not_count_against_the_limit(client):
    for n in range(10):
        assert apply(client, name=f"Try {n}", registration_number="bad").status_code == 200

    assert apply(client).status_code == 302


def test_accepted_applications_are_limited_per_client_address_and_nothing_typed_is_lost(
    client, mid_hour
):
    for n in range(5):
        assert client.post("/providers/apply/", nth_application(n)).status_code == 302

    limited = client.post("/providers/apply/", nth_application(5))

    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 3600
    page = limited.content.decode()
    assert "Too many applications have been sent from this address." in page
    assert 'value="Navrang Cinemas 5"' in page and 'value="meera5@navrang.example"' in page
    assert 'value="kesar-mango-lassi-42"' in page
    assert not Organisation.objects.filter(name="Navrang Cinemas 5").exists()
    other = client.post("/providers/apply/", nth_application(6), REMOTE_ADDR="203.0.113.9")
    assert other.status_code == 302


def test_an_application_lost_to_a_simultaneous_duplicate_gives_its_count_back(
    client, monkeypatch, mid_hour
):
    from providers import services

    def duplicate(**fields):
        raise services.DuplicateApplication()

    with monkeypatch.context() as patch:
        patch.setattr(services, "submit_application", duplicate)
        for n in range(6):
            page = client.post("/providers/apply/", nth_application(n)).content.decode()
            assert "has just applied" in page

    for n in range(5):
        assert client.post("/providers/apply/", nth_application(n)).status_code == 302


def test_a_flood_of_sendings_is_refused_with_a_way_back_to_the_form(client, mid_hour):
    from kyvs import limits

    for _ in range(limits.APPLICATION_ATTEMPTS_PER_IP.count):
        apply(client, registration_number="bad")

    flooded = apply(client)

    assert flooded.status_code == 429
    page = flooded.content.decode()
    assert "Too many attempts" in page
    assert 'href="/providers/apply/">Back to the form</a>' in page
    assert "/accounts/login/" not in page.split("<main")[1]


def test_a_form_sent_back_keeps_what_was_typed_and_an_accepted_password(client):
    response = apply(client, registration_number="bad")

    page = response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert 'value="Navrang Cinemas"' in page
    assert 'value="12 CG Road' not in page  # a textarea keeps its text inside it
    assert "12 CG Road, Navrangpura, Ahmedabad 380009</textarea>" in page
    assert page.count('value="kesar-mango-lassi-42"') == 2


def test_a_refused_password_is_not_sent_back(client):
    for changes in ({"password2": "something-else-42"}, {"password1": "12345678"}):
        page = apply(client, registration_number="bad", **changes).content.decode()
        assert "kesar-mango-lassi-42" not in page and "something-else-42" not in page


def test_the_scopes_asked_for_need_no_reason_when_only_status_is_wanted(client):
    response = apply(client, scopes=[], reason_vaccinations="")
    assert response.status_code == 302
    assert Organisation.objects.get(name="Navrang Cinemas").scope_reasons == {}
