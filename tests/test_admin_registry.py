"""Every model can be found in the admin, and no secret can be read there."""

import pytest
from django.apps import apps
from django.contrib import admin

from providers.models import ApiKey
from tests.factories import make_organisation

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model",
    [m for app in ("providers", "verification") for m in apps.get_app_config(app).get_models()],
    ids=lambda m: m.__name__,
)
def test_every_model_is_in_the_admin(model):
    assert model in admin.site._registry


def test_an_api_key_page_shows_its_prefix_but_never_its_digest(client, registry_admin):
    api_key, raw_key = ApiKey.issue(make_organisation(scopes=["vaccinations"]), "Booking")
    client.force_login(registry_admin)
    listing = client.get("/admin/providers/apikey/?q=" + api_key.prefix).content.decode()
    assert api_key.prefix in listing
    page = client.get(f"/admin/providers/apikey/{api_key.pk}/change/").content.decode()
    assert api_key.prefix in page
    assert api_key.digest not in page
    assert raw_key not in page


def test_a_registry_admin_can_revoke_keys_from_the_list(client, registry_admin):
    api_key, _raw = ApiKey.issue(make_organisation(), "Booking")
    client.force_login(registry_admin)
    client.post("/admin/providers/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]})
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_api_keys_cannot_be_added_in_the_admin(client, registry_admin):
    client.force_login(registry_admin)
    assert client.get("/admin/providers/apikey/add/").status_code == 403
