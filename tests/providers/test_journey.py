"""The whole life of an organisation, through the pages, as the three people live it."""

from datetime import date

import pytest
from django.core import mail
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from providers.models import Organisation
from tests.conftest import SecondFactorClient, otp_from
from tests.factories import add_dose, give_totp_device, make_beneficiary, totp_now
from tests.providers.helpers import apply, last_mail_to, links_in

pytestmark = pytest.mark.django_db


def test_apply_approve_enrol_invite_and_verify_a_customer(
    client, registry_admin, sms_outbox, django_capture_on_commit_callbacks
):
    ravi = make_beneficiary(name="Ravi Desai", mobile="9898012345", birth_year=1979)
    add_dose(ravi, "Covaxin", 1, date(2021, 6, 1))
    add_dose(ravi, "Covaxin", 2, date(2021, 7, 5))

    # The applicant applies.
    applicant = Client()
    with django_capture_on_commit_callbacks(execute=True):
        assert apply(applicant).status_code == 302
    organisation = Organisation.objects.get(name="Navrang Cinemas")
    assert "received" in last_mail_to("meera@navrang.example").subject

    # The registry admin approves with scopes, purposes and a quota.
    client.force_login(registry_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/providers/pendingapplication/",
            {
                "action": "approve",
                "_selected_action": [organisation.pk],
                "apply": "Approve",
                "scopes": ["vaccinations"],
                "purposes": ["venue_entry"],
                "daily_quota": "300",
                "sms_name": "Navrang Cinemas",
            },
        )
    organisation.refresh_from_db()
    assert organisation.state == "approved"
    assert "approved" in last_mail_to("meera@navrang.example").body

    # The organisation admin signs in and must enrol an authenticator app first.
    meera = Client()
    meera.post(
        "/accounts/login/",
        {"username": "meera@navrang.example", "password": "kesar-mango-lassi-42"},
    )
    gate = meera.get("/console/")
    assert gate["Location"].startswith("/accounts/two-factor/setup/")
    meera.get(gate["Location"])
    device = TOTPDevice.objects.get(user__username="meera@navrang.example")
    meera.post("/accounts/two-factor/setup/", {"code": totp_now(device)})
    assert meera.get("/console/").status_code == 200

    # She invites an operator, who sets a password from the e-mailed link.
    meera.post("/console/members/invite/", {"email": "desk@navrang.example", "role": "operator"})
    [link] = links_in(last_mail_to("desk@navrang.example"))
    desk = Client()
    desk.post(
        link, {"new_password1": "popcorn-and-ticket-9", "new_password2": "popcorn-and-ticket-9"}
    )

    # The operator verifies a customer with the customer's OTP.
    started = desk.post(
        "/verify/",
        {"full_name": "ravi desai", "mobile_number": "98980 12345", "purpose": "venue_entry"},
    )
    assert started.status_code == 302
    confirmed = desk.post(started["Location"], {"otp": otp_from(sms_outbox[-1])}, follow=True)
    page = confirmed.content.decode()
    assert "Fully vaccinated" in page
    assert "Covaxin" in page  # the vaccinations scope was granted
    assert "1979" not in page  # demographics were not

    # The admin sees it in the history, without the answer.
    history = meera.get("/console/history/").content.decode()
    assert "desk@navrang.example" in history and "Verified" in history
    assert "Fully vaccinated" not in history
    assert len(mail.outbox) == 3


def test_a_rejected_applicant_can_sign_in_but_not_invite_or_verify(
    client, registry_admin, sms_outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        apply(Client())
    organisation = Organisation.objects.get(name="Navrang Cinemas")
    organisation.reject(registry_admin, "The registration number belongs to someone else.")
    admin = organisation.memberships.get().user
    give_totp_device(admin)
    meera = SecondFactorClient()
    meera.force_login(admin)
    console = meera.get("/console/").content.decode()
    assert "not approved" in console
    meera.post("/console/members/invite/", {"email": "desk@navrang.example", "role": "operator"})
    assert not organisation.memberships.filter(user__username="desk@navrang.example").exists()
    refused = meera.post(
        "/verify/",
        {"full_name": "Ravi Desai", "mobile_number": "9898012345", "purpose": "venue_entry"},
    )
    assert refused.status_code == 200
    assert sms_outbox == []
