from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from providers.models import Membership
from tests.providers.helpers import links_in, user

pytestmark = pytest.mark.django_db


def invite(client, email="dev@sahyatri.example", role="operator"):
    return client.post("/console/members/invite/", {"email": email, "role": role})


def test_inviting_creates_an_account_without_a_password_and_e_mails_a_link(client, alice):
    client.force_login(alice)
    response = invite(client, email="Dev@Sahyatri.example")
    assert response.status_code == 302
    dev = user("dev@sahyatri.example")
    assert not dev.has_usable_password()
    assert dev.membership.organisation == alice.membership.organisation
    assert dev.membership.role == Membership.Role.OPERATOR
    assert dev.membership.invited_by == alice
    [message] = mail.outbox
    assert message.to == ["dev@sahyatri.example"]
    [link] = links_in(message)
    assert "/accounts/invitation/" in link
    assert "Invited" in client.get("/console/").content.decode()


def test_the_invited_person_sets_a_password_and_is_signed_in(client, alice):
    client.force_login(alice)
    invite(client)
    [link] = links_in(mail.outbox[0])
    dev = Client()
    assert dev.get(link).status_code == 200
    response = dev.post(
        link, {"new_password1": "chai-and-pakoda-77", "new_password2": "chai-and-pakoda-77"}
    )
    assert response.status_code == 302
    assert dev.get("/verify/").status_code == 200
    assert user("dev@sahyatri.example").check_password("chai-and-pakoda-77")


def test_an_invitation_link_works_once(client, alice):
    client.force_login(alice)
    invite(client)
    [link] = links_in(mail.outbox[0])
    password = {"new_password1": "chai-and-pakoda-77", "new_password2": "chai-and-pakoda-77"}
    Client().post(link, password)
    again = Client().post(link, {**password, "new_password1": "x", "new_password2": "x"})
    assert again.status_code == 410
    assert user("dev@sahyatri.example").check_password("chai-and-pakoda-77")


def test_an_invitation_link_expires(client, alice, settings):
    client.force_login(alice)
    invite(client)
    [link] = links_in(mail.outbox[0])
    later = timezone.now() + timedelta(hours=settings.KYVS_INVITE_MAX_AGE_HOURS, minutes=1)
    with time_machine.travel(later):
        assert Client().get(link).status_code == 410


def test_a_forged_invitation_link_is_refused(client, alice, bob):
    assert client.get("/accounts/invitation/not-a-token/").status_code == 410


def test_a_new_invitation_replaces_the_old_link(client, alice):
    client.force_login(alice)
    invite(client)
    invite(client)
    first, second = (links_in(m)[0] for m in mail.outbox)
    assert Client().get(first).status_code == 410
    assert Client().get(second).status_code == 200


def test_a_deactivated_member_can_be_invited_back(client, alice, bob):
    client.force_login(alice)
    client.post(f"/console/members/{bob.membership.public_id}/deactivate/")
    bob.refresh_from_db()
    assert not bob.is_active
    bob.email = "bob@sahyatri.example"
    bob.username = "bob@sahyatri.example"
    bob.save()
    assert invite(client, email="bob@sahyatri.example").status_code == 302
    bob.refresh_from_db()
    assert bob.is_active and not bob.has_usable_password()


def test_someone_of_another_organisation_cannot_be_invited(client, alice, charlie):
    charlie.username = "charlie@rail.example"
    charlie.save()
    client.force_login(alice)
    response = invite(client, email="charlie@rail.example")
    assert response.status_code == 422
    assert Membership.objects.get(user=charlie).organisation.name == "Rail Counter Vadodara"
    assert mail.outbox == []


def test_a_pending_organisation_cannot_invite_yet(client, alice, organisation):
    organisation.state = "pending"
    organisation.save()
    client.force_login(alice)
    invite(client)
    assert mail.outbox == []
    assert not Membership.objects.filter(user__username="dev@sahyatri.example").exists()


def test_operators_cannot_invite(client, bob):
    client.force_login(bob)
    assert invite(client).status_code == 403
    assert mail.outbox == []
