"""API keys in the console, and the create_api_key command."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from providers.models import ApiKey
from tests.factories import give_totp_device, make_member, make_organisation
from tests.verification.api_client import ApiClient

pytestmark = pytest.mark.django_db

LIST = "/console/api-keys/"


@pytest.fixture
def dina(other_organisation):
    """The admin of another organisation."""
    user = make_member(other_organisation, "dina", role="admin")
    give_totp_device(user)
    return user


@pytest.fixture
def alices_key(organisation):
    return ApiKey.issue(organisation, "Booking system")[0]


def revoke_url(api_key) -> str:
    return f"/console/api-keys/{api_key.public_id}/revoke/"


# --- who may ---------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, alices_key):
    for response in (client.get(LIST), client.post(revoke_url(alices_key))):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert ApiKey.objects.get(pk=alices_key.pk).is_active


def test_operators_are_refused(client, bob, alices_key):
    client.force_login(bob)

    assert client.get(LIST).status_code == 403
    assert client.post(LIST, {"name": "Mine"}).status_code == 403
    assert client.post(revoke_url(alices_key)).status_code == 403
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get(pk=alices_key.pk).is_active


def test_another_organisations_admin_cannot_see_or_revoke_the_key(client, dina, alices_key):
    client.force_login(dina)

    page = client.get(LIST).content.decode()
    assert alices_key.prefix not in page
    assert client.post(revoke_url(alices_key)).status_code == 404
    assert ApiKey.objects.get(pk=alices_key.pk).is_active


def test_the_admin_sees_each_key_with_prefix_created_last_used_and_state(
    client, alice, organisation, alices_key
):
    used = ApiKey.issue(organisation, "Kiosk")[0]
    ApiKey.objects.filter(pk=used.pk).update(last_used_at="2026-01-02T03:04:05+05:30")
    revoked = ApiKey.issue(organisation, "Old kiosk")[0]
    revoked.revoke()
    client.force_login(alice)

    page = client.get(LIST).content.decode()

    for key in (alices_key, used, revoked):
        assert f"{key.prefix}…" in page
    assert "Never" in page
    assert "2 Jan 2026, 03:04" in page
    assert "Revoked" in page
    assert page.count('aria-label="Revoke the key') == 2


# --- creating ------------------------------------------------------------------------------


def test_a_created_key_is_shown_once_and_works(client, alice, organisation, asha, sms_outbox):
    client.force_login(alice)

    response = client.post(LIST, {"name": "  Booking   system ", "scopes": ["vaccinations"]})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    api_key = ApiKey.objects.get()
    raw = response.content.decode().split('id="new-api-key"')[1].split(">", 1)[1]
    raw = raw.split("</textarea>")[0].strip()
    assert raw.startswith(api_key.prefix + "_")
    assert api_key.name == "Booking system"
    assert api_key.scopes == ["vaccinations"]
    assert api_key.created_by == alice
    assert raw not in client.get(LIST).content.decode()
    assert api_key.digest != raw and raw not in str(list(ApiKey.objects.values()))
    assert ApiClient(raw).generate("Asha Patel", "9876543210").status_code == 200


def test_a_key_cannot_be_given_a_scope_the_organisation_does_not_hold(client, alice, organisation):
    client.force_login(alice)

    response = client.post(LIST, {"name": "Greedy", "scopes": ["demographics"]})

    assert response.status_code == 422
    assert not ApiKey.objects.exists()


def test_a_key_needs_a_name(client, alice):
    client.force_login(alice)

    response = client.post(LIST, {"name": "   "})

    assert response.status_code == 422
    assert "Give the key a name." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_an_organisation_that_is_not_approved_cannot_create_keys(client, alice, organisation):
    organisation.state = "suspended"
    organisation.save()
    client.force_login(alice)

    response = client.post(LIST, {"name": "Booking"})

    assert response.status_code == 302
    assert not ApiKey.objects.exists()


# --- revoking -----------------------------------------------------------------------------


def test_revoking_a_key_refuses_it_at_once(client, alice, organisation, asha, sms_outbox):
    api_key, raw = ApiKey.issue(organisation, "Booking")
    assert ApiClient(raw).generate("Asha Patel", "9876543210").status_code == 200
    client.force_login(alice)

    response = client.post(revoke_url(api_key))

    assert response.status_code == 302
    assert response["Location"] == LIST
    assert ApiClient(raw).generate("Asha Patel", "9876543210").status_code == 401


def test_revoking_asks_to_confirm_first(client, alice, alices_key):
    client.force_login(alice)

    page = client.get(revoke_url(alices_key))

    assert page.status_code == 200
    assert "Revoke the key “Booking system”?" in page.content.decode()
    assert ApiKey.objects.get(pk=alices_key.pk).is_active


def test_a_revocation_can_be_undone_for_a_few_minutes(client, alice, alices_key):
    client.force_login(alice)
    client.post(revoke_url(alices_key))
    assert not ApiKey.objects.get(pk=alices_key.pk).is_active

    page = client.get(LIST).content.decode()
    undo = f"/console/api-keys/{alices_key.public_id}/restore/"
    assert f'action="{undo}"' in page
    assert "Undo: accept the key “Booking system” again" in page
    client.post(undo)

    assert ApiKey.objects.get(pk=alices_key.pk).is_active
    assert f'action="{undo}"' not in client.get(LIST).content.decode()


def test_an_undo_is_refused_once_its_time_is_over(client, alice, alices_key):
    client.force_login(alice)
    client.post(revoke_url(alices_key))
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        client.post(f"/console/api-keys/{alices_key.public_id}/restore/")

    assert not ApiKey.objects.get(pk=alices_key.pk).is_active


def test_an_undo_works_only_for_the_key_it_was_offered_for(client, alice, organisation):
    first = ApiKey.issue(organisation, "First")[0]
    second = ApiKey.issue(organisation, "Second")[0]
    second.revoke()
    client.force_login(alice)
    client.post(revoke_url(first))

    client.post(f"/console/api-keys/{second.public_id}/restore/")

    assert not ApiKey.objects.get(pk=second.pk).is_active


# --- the command --------------------------------------------------------------------------


def test_create_api_key_prints_a_working_key_once(capsys, organisation, asha, sms_outbox):
    call_command("create_api_key", organisation.name, "--name", "Booking", "--scopes", "")

    out = capsys.readouterr().out.strip().splitlines()
    raw = out[-1]
    api_key = ApiKey.objects.get()
    assert "shown only this once" in out[0]
    assert raw.startswith(api_key.prefix + "_")
    assert api_key.scopes == []
    assert ApiClient(raw).generate("Asha Patel", "9876543210").status_code == 200


def test_create_api_key_gives_all_the_organisations_scopes_by_default(capsys, organisation):
    call_command("create_api_key", organisation.name, "--name", "Booking")

    assert ApiKey.objects.get().scopes == ["vaccinations"]


def test_create_api_key_refuses_a_scope_the_organisation_does_not_hold(organisation):
    with pytest.raises(CommandError, match="does not hold the scope"):
        call_command(
            "create_api_key", organisation.name, "--name", "X", "--scopes", "demographics"
        )
    assert not ApiKey.objects.exists()


def test_create_api_key_refuses_an_unknown_organisation(db):
    make_organisation(name="Sahyatri Travels Pvt")

    with pytest.raises(CommandError, match="No organisation is named"):
        call_command("create_api_key", "Sahyatri", "--name", "X")


def test_the_keys_page_shows_each_keys_use_today_and_its_starts_left(
    client, alice, organisation, asha, sms_outbox, settings
):
    settings.KYVS_STARTS_PER_ACTOR = 30
    _key, raw = ApiKey.issue(organisation, "Booking system")
    ApiKey.issue(organisation, "Kiosk")
    api = ApiClient(raw)
    api.generate("Asha Patel", "9876543210")
    api.generate("Asha Patel", "9876543210")
    client.force_login(alice)
    page = client.get("/console/api-keys/").content.decode()
    assert "2 verifications today" in page
    assert "28 of 30 starts left in any 10 minutes" in page
    assert "0 verifications today" in page
    assert "30 of 30 starts left" in page
