"""Every decision a registry admin takes in bulk leaves one audit line per object, as a
decision about one object does."""

import logging

import pytest

from providers.models import ApiKey
from tests.factories import make_beneficiary, make_organisation

pytestmark = pytest.mark.django_db


def audit_lines(caplog, event="admin_action") -> list:
    return [
        r for r in caplog.records if r.name == "kyvs.audit" and getattr(r, "event", "") == event
    ]


def test_a_bulk_deletion_leaves_one_audit_line_per_object(client, registry_admin, caplog):
    people = [make_beneficiary(mobile="9825000003") for _ in range(3)]
    client.force_login(registry_admin)
    with caplog.at_level(logging.INFO, logger="kyvs.audit"):
        response = client.post(
            "/admin/verification/beneficiary/",
            {
                "action": "delete_selected",
                "_selected_action": [p.pk for p in people],
                "post": "yes",
            },
        )
    assert response.status_code == 302
    lines = audit_lines(caplog)
    assert sorted(int(r.object_id) for r in lines) == sorted(p.pk for p in people)
    assert {r.action for r in lines} == {"deletion"}


def test_revoking_keys_in_bulk_leaves_one_audit_line_per_key(client, registry_admin, caplog):
    keys = [ApiKey.issue(make_organisation(), f"Key {n}")[0] for n in range(3)]
    client.force_login(registry_admin)
    with caplog.at_level(logging.INFO, logger="kyvs.audit"):
        client.post(
            "/admin/providers/apikey/",
            {"action": "revoke", "_selected_action": [k.pk for k in keys]},
        )
    lines = audit_lines(caplog)
    assert sorted(int(r.object_id) for r in lines) == sorted(k.pk for k in keys)
    assert all(r.user_id == registry_admin.pk for r in lines)


def test_suspending_organisations_in_bulk_leaves_one_audit_line_per_organisation(
    client, registry_admin, caplog
):
    organisations = [make_organisation() for _ in range(2)]
    client.force_login(registry_admin)
    with caplog.at_level(logging.INFO, logger="kyvs.audit"):
        client.post(
            "/admin/providers/organisation/",
            {
                "action": "suspend",
                "_selected_action": [o.pk for o in organisations],
                "apply": "1",
                "reason": "Reports from citizens.",
            },
        )
    for organisation in organisations:
        organisation.refresh_from_db()
        assert organisation.state == "suspended"
    lines = audit_lines(caplog)
    assert sorted(int(r.object_id) for r in lines) == sorted(o.pk for o in organisations)
