import re

import pytest
from django.core import mail

from providers.models import DecisionRefused, Organisation, OrganisationDecision
from tests.conftest import otp_from
from tests.factories import make_member, make_organisation
from verification import services
from verification.models import Verification

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/providers/organisation/"
QUEUE = "/admin/providers/pendingapplication/"


@pytest.fixture
def applicant(db):
    organisation = make_organisation(
        name="Navrang Cinemas",
        state=Organisation.State.PENDING,
        scopes=[],
        purposes=[],
        requested_scopes=["vaccinations"],
        requested_purposes=["venue_entry"],
        scope_reasons={"vaccinations": "State rules ask for the second dose's date."},
        contact_email="office@navrang.example",
    )
    meera = make_member(organisation, "meera", role="admin")
    meera.email = "meera@navrang.example"
    meera.save()
    return organisation


def action(client, name, organisation, **form):
    """A list's action: approving and rejecting in the review queue, suspending and
    reinstating in the list of organisations."""
    data = {"action": name, "_selected_action": [organisation.pk], **form}
    return client.post(QUEUE if name in ("approve", "reject") else CHANGELIST, data)


def test_the_review_queue_lists_only_pending_applications(client, registry_admin, applicant):
    make_organisation(name="Already Approved Travels")
    client.force_login(registry_admin)
    page = client.get(QUEUE).content.decode()
    assert "Navrang Cinemas" in page
    assert "Already Approved Travels" not in page


def test_approving_asks_for_scopes_purposes_and_quota_first(client, registry_admin, applicant):
    client.force_login(registry_admin)
    response = action(client, "approve", applicant)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="daily_quota"' in page
    assert "State rules ask for the second dose" in page
    # The application reads in words, not in stored codes.
    assert "<strong>Vaccination events (vaccine, dose, date, centre)</strong>" in page
    assert "<td>Venue entry</td>" in page
    # What the organisation asked for is ticked to start with.
    assert page.count("checked") == 2  # vaccinations and venue entry
    assert Organisation.objects.get(pk=applicant.pk).state == "pending"


def test_approving_grants_what_the_registry_admin_chose_and_tells_the_organisation(
    client, registry_admin, applicant, django_capture_on_commit_callbacks
):
    client.force_login(registry_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = action(
            client,
            "approve",
            applicant,
            apply="Approve",
            scopes=["vaccinations", "demographics"],
            purposes=["venue_entry", "service"],
            daily_quota="250",
        )
    assert response.status_code == 302
    applicant.refresh_from_db()
    assert applicant.state == Organisation.State.APPROVED
    assert applicant.scopes == ["vaccinations", "demographics"]
    assert applicant.purposes == ["venue_entry", "service"]
    assert applicant.daily_quota == 250
    decision = applicant.decisions.get()
    assert decision.action == OrganisationDecision.Action.APPROVE
    assert decision.decided_by == registry_admin
    assert decision.daily_quota == 250
    [message] = mail.outbox
    assert set(message.to) == {"meera@navrang.example", "office@navrang.example"}
    assert "approved" in message.body
    assert "250" in message.body


def test_rejecting_needs_a_reason_and_sends_it(
    client, registry_admin, applicant, django_capture_on_commit_callbacks
):
    client.force_login(registry_admin)
    response = action(client, "reject", applicant, apply="Reject", reason="")
    assert response.status_code == 200
    assert Organisation.objects.get(pk=applicant.pk).state == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        action(client, "reject", applicant, apply="Reject", reason="The CIN is not yours.")
    applicant.refresh_from_db()
    assert applicant.state == Organisation.State.REJECTED
    decision = applicant.decisions.get()
    assert (decision.action, decision.reason) == ("reject", "The CIN is not yours.")
    assert "The CIN is not yours." in mail.outbox[-1].body


def test_suspending_and_reinstating_are_recorded_with_who_when_and_why(
    client, registry_admin, organisation, alice, django_capture_on_commit_callbacks
):
    alice.email = "alice@sahyatri.example"
    alice.save()
    client.force_login(registry_admin)
    with django_capture_on_commit_callbacks(execute=True):
        action(client, "suspend", organisation, apply="Suspend", reason="Complaints.")
    organisation.refresh_from_db()
    assert organisation.state == Organisation.State.SUSPENDED
    with django_capture_on_commit_callbacks(execute=True):
        action(client, "reinstate", organisation, apply="Reinstate", reason="Resolved.")
    organisation.refresh_from_db()
    assert organisation.state == Organisation.State.APPROVED
    reinstated, suspended = organisation.decisions.all()
    assert (suspended.action, suspended.reason, suspended.decided_by) == (
        "suspend",
        "Complaints.",
        registry_admin,
    )
    assert (reinstated.from_state, reinstated.to_state) == ("suspended", "approved")
    assert reinstated.decided_at >= suspended.decided_at
    assert [m.subject for m in mail.outbox] == [
        "KYVS: Sahyatri Travels — Suspended",
        "KYVS: Sahyatri Travels — Reinstated",
    ]


@pytest.mark.parametrize(
    "state, decide",
    [
        ("approved", lambda o, by: o.approve(by, [], ["travel"], 10)),
        ("rejected", lambda o, by: o.approve(by, [], ["travel"], 10)),
        ("pending", lambda o, by: o.suspend(by, "why")),
        ("suspended", lambda o, by: o.reject(by, "why")),
        ("approved", lambda o, by: o.reinstate(by, "why")),
    ],
)
def test_a_decision_that_does_not_fit_the_state_is_refused(state, decide, registry_admin):
    organisation = make_organisation(state=state)
    with pytest.raises(DecisionRefused):
        decide(organisation, registry_admin)
    assert Organisation.objects.get(pk=organisation.pk).state == state
    assert not OrganisationDecision.objects.exists()


def test_a_refused_decision_is_reported_in_the_admin(client, registry_admin, organisation):
    client.force_login(registry_admin)
    response = action(client, "reinstate", organisation, apply="Reinstate", reason="x")
    assert "cannot be reinstated" in client.get(response["Location"]).content.decode()


def test_the_state_cannot_be_changed_by_editing_the_organisation(
    client, registry_admin, applicant
):
    client.force_login(registry_admin)
    page = client.get(f"{CHANGELIST}{applicant.pk}/change/").content.decode()
    assert 'name="state"' not in page


def test_a_suspended_organisations_operator_is_refused_at_start(
    organisation, bob, asha, registry_admin, sms_outbox
):
    organisation.suspend(registry_admin, "Complaints.")
    with pytest.raises(services.VerificationRefused) as refusal:
        services.start_verification(
            organisation=organisation,
            operator=bob,
            full_name="Asha Patel",
            mobile="9876543210",
            purpose="travel",
        )
    assert refusal.value.code == "organisation_not_approved"
    assert sms_outbox == []


def test_a_pending_verification_cannot_be_confirmed_once_the_organisation_is_suspended(
    client, organisation, bob, asha, registry_admin, sms_outbox
):
    client.force_login(bob)
    client.post(
        "/verify/", {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"}
    )
    verification = Verification.objects.get()
    code = otp_from(sms_outbox[-1])

    organisation.suspend(registry_admin, "Complaints.")
    response = client.post(f"/verify/{verification.public_id}/", {"otp": code}, follow=True)
    assert "not approved to verify customers" in response.content.decode()
    verification.refresh_from_db()
    assert verification.state == Verification.State.FAILED
    assert verification.failure_reason == "organisation_not_approved"
    assert not response.redirect_chain[-1][0].endswith("/result/")


def test_the_admin_cannot_be_entered_without_a_verified_second_factor(client, registry_admin):
    client.login(username="registry", password="password-for-tests")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/two-factor/?next=/admin/")
    # Even past the middleware, the OTP admin site itself refuses an unverified user.
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = registry_admin
    registry_admin.is_verified = lambda: False
    assert not admin.site.has_permission(request)


def test_the_admin_opens_once_the_second_factor_is_verified(client, registry_admin):
    client.force_login(registry_admin)
    assert client.get("/admin/").status_code == 200


def test_anonymous_visitors_to_the_admin_are_sent_to_the_site_sign_in(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/?next=/admin/")


# --- deciding on an organisation's own page -------------------------------------------------


def test_an_application_is_approved_from_its_own_page(
    client, registry_admin, applicant, django_capture_on_commit_callbacks
):
    client.force_login(registry_admin)
    page = client.get(f"{QUEUE}{applicant.pk}/change/").content.decode()
    approve = f"{QUEUE}{applicant.pk}/decide/approve/"
    assert f'href="{approve}"' in page and f'href="{QUEUE}{applicant.pk}/decide/reject/"' in page
    assert "/decide/suspend/" not in page

    form = client.get(approve).content.decode()
    assert 'name="daily_quota"' in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            approve,
            {
                "apply": "Approve",
                "scopes": ["vaccinations"],
                "purposes": ["venue_entry"],
                "daily_quota": "100",
            },
        )

    assert response["Location"] == f"{CHANGELIST}{applicant.pk}/change/"
    applicant.refresh_from_db()
    assert applicant.state == "approved" and applicant.daily_quota == 100
    assert "approved" in mail.outbox[-1].body


def test_an_approved_organisation_is_offered_only_what_its_state_allows(
    client, registry_admin, organisation
):
    client.force_login(registry_admin)
    page = client.get(f"{CHANGELIST}{organisation.pk}/change/").content.decode()
    assert f'href="{CHANGELIST}{organisation.pk}/decide/suspend/"' in page
    for name in ("approve", "reject", "reinstate"):
        assert f"/decide/{name}/" not in page
        assert client.get(f"{CHANGELIST}{organisation.pk}/decide/{name}/").status_code == 404
    actions = (
        client.get(CHANGELIST).content.decode().split('name="action"')[1].split("</select>")[0]
    )
    assert 'value="suspend"' in actions and 'value="reinstate"' in actions
    assert 'value="reject"' not in actions and 'value="approve"' not in actions


def test_an_application_reads_in_words_not_stored_codes(client, registry_admin, applicant):
    client.force_login(registry_admin)
    page = client.get(f"{QUEUE}{applicant.pk}/change/").content.decode()
    assert "Venue entry" in page and "venue_entry" not in page
    assert "<strong>Vaccination events (vaccine, dose, date, centre)</strong>" in page
    assert "&quot;" not in page.split('id="content-main"')[1].split("</fieldset>")[0]


def test_what_is_granted_can_be_edited_only_once_approved(
    client, registry_admin, applicant, organisation
):
    client.force_login(registry_admin)
    pending = client.get(f"{QUEUE}{applicant.pk}/change/").content.decode()
    approved = client.get(f"{CHANGELIST}{organisation.pk}/change/").content.decode()
    for name in ("purposes", "scopes", "daily_quota"):
        assert f'name="{name}"' not in pending
        assert f'name="{name}"' in approved


def test_applications_are_decided_on_never_deleted(client, registry_admin, applicant):
    client.force_login(registry_admin)
    assert 'value="delete_selected"' not in client.get(QUEUE).content.decode()
    assert client.get(f"{QUEUE}{applicant.pk}/delete/").status_code == 403
    assert Organisation.objects.filter(pk=applicant.pk).exists()


def test_the_admins_front_page_says_how_many_applications_wait(client, registry_admin, applicant):
    client.force_login(registry_admin)
    page = client.get("/admin/").content.decode()
    assert "1 application waits for review." in page
    assert f'href="{QUEUE}"' in page
    assert "Pending applications (1 waiting)" in page


def test_every_box_of_the_members_rows_has_a_name(client, registry_admin, organisation, alice):
    client.force_login(registry_admin)
    page = client.get(f"{CHANGELIST}{organisation.pk}/change/").content.decode()
    role = re.search(r'<select[^>]*id="id_memberships-0-role"[^>]*>', page).group(0)
    delete = re.search(r'<input[^>]*id="id_memberships-0-DELETE"[^>]*>', page).group(0)
    assert 'aria-label="role"' in role.lower()
    assert 'aria-label="delete"' in delete.lower()
