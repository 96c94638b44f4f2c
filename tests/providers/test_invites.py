import html
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from providers.models import Membership
from tests.providers.helpers import links_in, user

pytestmark = pytest.mark.django_db


def invite(client, email="dev@sahyatri.example", role="operator", **kwargs):
    return client.post("/console/members/invite/", {"email": email, "role": role}, **kwargs)


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
        link,
        {"new_password1": "chai-and-pakoda-77", "new_password2": "chai-and-pakoda-77"},
        follow=True,
    )
    # Where a finished sign-in goes (the operator's own start), not the public front door.
    assert response.redirect_chain[-1][0] == "/verify/"
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


@pytest.fixture
def charlie_by_mail(charlie):
    charlie.username = charlie.email = "charlie@rail.example"
    charlie.save()
    return charlie


def test_someone_of_another_organisation_is_not_invited_and_is_told_instead(
    client, alice, charlie_by_mail
):
    charlie = charlie_by_mail
    client.force_login(alice)
    response = invite(client, email="Charlie@Rail.example")
    assert response.status_code == 302
    charlie.refresh_from_db()
    assert charlie.membership.organisation.name == "Rail Counter Vadodara"
    assert charlie.membership.role == Membership.Role.OPERATOR
    assert charlie.check_password("password-for-tests")
    [message] = mail.outbox
    assert message.to == ["charlie@rail.example"]
    assert message.subject == "KYVS: Sahyatri Travels tried to invite you"
    assert "nothing has changed" in message.body
    assert links_in(message) == []


def test_the_admin_is_answered_alike_for_an_address_with_an_account_elsewhere(
    client, alice, charlie_by_mail
):
    client.force_login(alice)
    answers = []
    for address in ("charlie@rail.example", "charlie@nowhere.example"):
        response = invite(client, email=address, follow=True)
        said = [m.replace(address, "ADDRESS") for m in flash_messages(response)]
        answers.append((response.status_code, response.redirect_chain, said))
    known, unknown = answers
    assert known == unknown == (200, [("/console/", 302)], ["Invitation sent to ADDRESS."])


def flash_messages(response) -> list[str]:
    page = response.content.decode()
    return [html.unescape(m) for m in re.findall(r'<li class="message[^"]*">(.*?)</li>', page)]


def test_a_registry_admins_address_is_not_invited_either(client, alice, registry_admin):
    registry_admin.email = "registry@kyvs.example"
    registry_admin.save()
    client.force_login(alice)
    assert invite(client, email="registry@kyvs.example").status_code == 302
    registry_admin.refresh_from_db()
    assert not hasattr(registry_admin, "membership")
    [message] = mail.outbox
    assert "tried to invite" in message.subject


def test_the_note_is_written_in_the_language_its_owner_last_signed_in_with(
    client, alice, charlie_by_mail
):
    charlie_by_mail.membership.language = "gu"
    charlie_by_mail.membership.save()
    client.force_login(alice)
    invite(client, email="charlie@rail.example")
    [message] = mail.outbox
    assert message.body.startswith("નમસ્તે,")


def test_someone_already_in_the_organisation_is_refused_with_a_reason(client, alice, bob):
    bob.email = "bob@sahyatri.example"
    bob.save()
    client.force_login(alice)
    response = invite(client, email="bob@sahyatri.example")
    assert response.status_code == 422
    assert "This person is already a member." in response.content.decode()
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
