"""E-mails are plain text: subjects and bodies read exactly what was typed, "&" and "<"
included, never HTML-escaped (kyvs/mail.py, the "text" template engine)."""

import pytest
from django.core import mail

from providers.models import Organisation
from tests.providers.helpers import apply, last_mail_to

pytestmark = pytest.mark.django_db

ODD_NAME = 'Shah & Sons <Travels> "Vadodara" O\'Neil'


def assert_not_escaped(text: str) -> None:
    for escaped in ("&amp;", "&lt;", "&gt;", "&quot;", "&#x27;", "&#39;"):
        assert escaped not in text


def test_the_application_received_subject_and_body_read_the_name_as_typed(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        apply(client, name=ODD_NAME)
    message = last_mail_to("meera@navrang.example")
    assert message.subject == f"KYVS: we have received the application of {ODD_NAME}"
    assert ODD_NAME in message.body
    assert_not_escaped(message.subject + message.body)


def test_a_decision_subject_reads_the_name_as_typed(
    registry_admin, organisation, django_capture_on_commit_callbacks
):
    organisation.name = ODD_NAME
    organisation.state = Organisation.State.PENDING
    organisation.contact_email = "owner@shah.example"
    organisation.save()
    with django_capture_on_commit_callbacks(execute=True):
        organisation.approve(registry_admin, [], ["travel"], 100)
    [message] = mail.outbox
    assert message.subject == f"KYVS: {ODD_NAME} — Approved"
    assert f"Dear admin of {ODD_NAME}," in message.body
    assert_not_escaped(message.subject + message.body)


def test_an_invitation_subject_reads_the_name_as_typed(client, alice, organisation):
    organisation.name = ODD_NAME
    organisation.save()
    client.force_login(alice)
    client.post("/console/members/invite/", {"email": "dev@shah.example", "role": "operator"})
    [message] = mail.outbox
    assert message.subject == f"KYVS: you are invited to {ODD_NAME}"
    assert ODD_NAME in message.body
    assert_not_escaped(message.subject + message.body)


def test_a_password_reset_body_reads_the_sign_in_name_as_typed(client, bob):
    bob.username = bob.email = "o'neil&co@shah.example"
    bob.save()
    client.post("/accounts/password-reset/", {"email": "o'neil&co@shah.example"})
    [message] = mail.outbox
    assert "Your sign-in name is o'neil&co@shah.example." in message.body
    assert_not_escaped(message.subject + message.body)
