"""Verification rows are the audit trail: nobody edits or deletes them in the admin."""

import pytest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from verification.models import Verification
from verification.services import start_verification

pytestmark = pytest.mark.django_db


@pytest.fixture
def verification(organisation, bob, asha, sms_outbox):
    return start_verification(
        organisation=organisation,
        operator=bob,
        full_name=asha.name,
        mobile=asha.mobile,
        purpose="travel",
    )


@pytest.fixture
def admin_client(client, registry_admin):
    """A registry admin signed in with a second factor, as the OTP admin site requires."""
    device = TOTPDevice.objects.create(user=registry_admin, name="phone", confirmed=True)
    client.force_login(registry_admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def test_a_superuser_can_list_and_read_verifications(admin_client, verification):
    changelist = admin_client.get(reverse("admin:verification_verification_changelist"))
    assert changelist.status_code == 200
    page = admin_client.get(
        reverse("admin:verification_verification_change", args=[verification.pk])
    )
    assert page.status_code == 200
    assert b'name="_save"' not in page.content


def test_a_superuser_cannot_change_a_verification(admin_client, verification):
    url = reverse("admin:verification_verification_change", args=[verification.pk])
    response = admin_client.post(url, {"state": "verified", "purpose": "service"})
    assert response.status_code == 403
    verification.refresh_from_db()
    assert verification.state == Verification.State.OTP_SENT
    assert verification.purpose == "travel"


def test_a_superuser_cannot_delete_a_verification(admin_client, verification):
    url = reverse("admin:verification_verification_delete", args=[verification.pk])
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Verification.objects.filter(pk=verification.pk).exists()


def test_a_superuser_cannot_bulk_delete_verifications(admin_client, verification):
    url = reverse("admin:verification_verification_changelist")
    response = admin_client.post(
        url,
        {"action": "delete_selected", "_selected_action": [verification.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert Verification.objects.filter(pk=verification.pk).exists()


def test_a_superuser_cannot_add_a_verification(admin_client):
    url = reverse("admin:verification_verification_add")
    assert admin_client.get(url).status_code == 403
