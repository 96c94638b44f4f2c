import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone, translation

from providers.models import Membership, Purpose
from tests.factories import give_totp_device, make_member, make_verification
from verification.models import Verification

pytestmark = pytest.mark.django_db

PAGES = ["/console/", "/console/history/", "/console/history.csv", "/console/members/invite/"]


def record(organisation, operator, state="verified", days_ago=0, purpose="travel"):
    started = timezone.now() - timedelta(days=days_ago)
    return make_verification(
        organisation, operator, outcome=state, started=started, purpose=purpose
    )


@pytest.fixture
def dina(other_organisation):
    """The admin of the other organisation."""
    user = make_member(other_organisation, "dina", role="admin")
    give_totp_device(user)
    return user


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", PAGES)
def test_operators_are_refused_the_console(client, bob, url):
    client.force_login(bob)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", PAGES)
def test_the_admin_reaches_every_console_page(client, alice, url):
    client.force_login(alice)
    assert client.get(url).status_code == 200


def test_the_console_shows_status_scopes_purposes_and_quota(client, alice, organisation):
    record(organisation, alice)
    client.force_login(alice)
    page = client.get("/console/").content.decode()
    assert "Sahyatri Travels" in page and "Approved" in page
    assert "Vaccination events" in page and "Demographics" not in page
    assert "Travel" in page and "Service" in page
    assert "1 <span" in page and "/ 1000" in page
    assert "<svg" in page and "Verifications per day by outcome" in page


def test_another_organisations_admin_sees_nothing_of_it(client, alice, bob, dina, organisation):
    record(organisation, bob)
    client.force_login(dina)
    for url in ["/console/", "/console/history/", "/console/history.csv"]:
        body = client.get(url).content.decode()
        assert "Sahyatri" not in body and "bob" not in body
    bob_id = bob.membership.public_id
    assert client.post(f"/console/members/{bob_id}/deactivate/").status_code == 404
    assert client.post(f"/console/members/{bob_id}/role/", {"role": "admin"}).status_code == 404
    bob.refresh_from_db()
    assert bob.is_active and bob.membership.role == "operator"


def test_deactivating_asks_to_confirm_first(client, alice, bob):
    client.force_login(alice)

    page = client.get(f"/console/members/{bob.membership.public_id}/deactivate/")

    assert page.status_code == 200
    assert "Deactivate bob?" in page.content.decode()
    bob.refresh_from_db()
    assert bob.is_active


def test_a_deactivation_can_be_undone_and_the_member_signs_in_as_before(client, alice, bob):
    client.force_login(alice)
    client.post(f"/console/members/{bob.membership.public_id}/deactivate/")
    assert not Client().login(username="bob", password="password-for-tests")

    undo = f"/console/members/{bob.membership.public_id}/reactivate/"
    page = client.get("/console/").content.decode()
    assert f'action="{undo}"' in page and "Undo: let bob sign in again" in page
    client.post(undo)

    assert Client().login(username="bob", password="password-for-tests")
    assert f'action="{undo}"' not in client.get("/console/").content.decode()


def test_a_deactivation_cannot_be_undone_later_or_from_elsewhere(client, alice, bob):
    client.force_login(alice)
    client.post(f"/console/members/{bob.membership.public_id}/deactivate/")
    undo = f"/console/members/{bob.membership.public_id}/reactivate/"
    elsewhere = type(client)()
    elsewhere.force_login(alice)
    elsewhere.post(undo)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        client.post(undo)

    bob.refresh_from_db()
    assert not bob.is_active
    assert not Client().login(username="bob", password="password-for-tests")


def test_operators_cannot_change_roles_or_deactivate(client, bob, organisation):
    carol = make_member(organisation, "carol")
    client.force_login(bob)
    url = f"/console/members/{carol.membership.public_id}/"
    assert client.post(url + "deactivate/").status_code == 403
    assert client.post(url + "role/", {"role": "admin"}).status_code == 403


def test_the_admin_changes_a_members_role(client, alice, bob):
    client.force_login(alice)
    client.post(f"/console/members/{bob.membership.public_id}/role/", {"role": "admin"})
    assert Membership.objects.get(user=bob).role == "admin"


def test_the_admin_cannot_demote_or_deactivate_herself(client, alice):
    client.force_login(alice)
    url = f"/console/members/{alice.membership.public_id}/"
    client.post(url + "role/", {"role": "operator"})
    client.post(url + "deactivate/")
    alice.refresh_from_db()
    assert alice.is_active and alice.membership.role == "admin"


def test_deactivating_signs_the_operator_out_everywhere(client, alice, bob):
    bobs_desk, bobs_phone = Client(), Client()
    for device in (bobs_desk, bobs_phone):
        device.force_login(bob)
        assert device.get("/verify/").status_code == 200
    client.force_login(alice)
    client.post(f"/console/members/{bob.membership.public_id}/deactivate/")
    for device in (bobs_desk, bobs_phone):
        response = device.get("/verify/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert not Client().login(username="bob", password="password-for-tests")


def test_the_admin_can_require_two_factors_for_operators(client, alice, bob, organisation):
    client.force_login(alice)
    client.post("/console/security/", {"require": "on"})
    organisation.refresh_from_db()
    assert organisation.require_operator_two_factor
    client.force_login(bob)
    response = client.get("/verify/")
    assert response["Location"].startswith("/accounts/two-factor/setup/")
    client.force_login(alice)
    client.post("/console/security/", {})
    client.force_login(bob)
    assert client.get("/verify/").status_code == 200


def test_the_history_shows_only_audit_columns(client, alice, bob, organisation, asha):
    v = record(organisation, bob)
    v.beneficiary = asha
    v.save()
    client.force_login(alice)
    page = client.get("/console/history/").content.decode()
    assert "bob" in page and "Verified" in page and "Hosted webpage" in page
    for secret in ["Asha", "3210", "Fully vaccinated", "Not vaccinated"]:
        assert secret not in page


def test_the_history_filters_by_date_operator_and_outcome(client, alice, bob, organisation):
    carol = make_member(organisation, "carol")
    record(organisation, bob, state="verified", days_ago=0)
    record(organisation, bob, state="failed", days_ago=0)
    record(organisation, carol, state="verified", days_ago=10)
    client.force_login(alice)

    def rows(**query):
        response = client.get("/console/history.csv", query)
        return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))

    assert len(rows()) == 3
    assert {r["Operator"] for r in rows(operator=str(carol.membership.public_id))} == {"carol"}
    assert {r["Outcome"] for r in rows(outcome="failed")} == {"Failed"}
    today = timezone.localdate().isoformat()
    assert len(rows(date_from=today)) == 2
    old = (timezone.localdate() - timedelta(days=5)).isoformat()
    assert len(rows(date_to=old)) == 1
    page = client.get("/console/history/", {"outcome": "failed"}).content.decode()
    assert "1 verification" in page


def test_the_csv_has_the_audit_columns_and_nothing_of_the_result(client, alice, bob, organisation):
    record(organisation, bob)
    client.force_login(alice)
    response = client.get("/console/history.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, row = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header == [
        "Verification id",
        "Started",
        "Operator",
        "API key",
        "Channel",
        "Purpose",
        "Outcome",
        "Finished",
    ]
    assert row[2:4] == ["bob", ""] and row[4:7] == ["Hosted webpage", "Travel", "Verified"]


def test_the_csv_opens_in_a_spreadsheet_in_the_pages_language(client, alice, bob, organisation):
    record(organisation, bob)
    client.force_login(alice)
    client.cookies["django_language"] = "gu"

    body = client.get("/console/history.csv").content

    # A byte order mark first: without it Excel reads UTF-8 as the legacy code page.
    assert body.startswith(b"\xef\xbb\xbf")
    header, row = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    with translation.override("gu"):
        words = [
            str(Verification.Channel.WEB.label),
            str(Purpose.TRAVEL.label),
            str(Verification.State.VERIFIED.label),
        ]
    assert row[4:7] == words
    assert not any(word.isascii() for word in words)


def test_a_from_date_after_the_to_date_is_said_not_answered_with_nothing(
    client, alice, bob, organisation
):
    record(organisation, bob)
    client.force_login(alice)
    today = timezone.localdate()
    query = {"date_from": today.isoformat(), "date_to": (today - timedelta(days=3)).isoformat()}

    response = client.get("/console/history/", query)

    page = response.content.decode()
    assert response.status_code == 422
    assert "“To” must be on or after “From”." in page
    assert 'id="id_date_to_error"' in page and 'aria-invalid="true"' in page
    assert "No verifications match." not in page
    csv_response = client.get("/console/history.csv", query)
    assert csv_response.status_code == 302
    assert csv_response["Location"].startswith("/console/history/?")


def test_a_date_that_cannot_be_read_is_said_and_the_filter_row_stays_whole(
    client, alice, bob, organisation
):
    record(organisation, bob)
    client.force_login(alice)

    response = client.get("/console/history/", {"date_from": "31/02/2026", "outcome": "failed"})

    page = response.content.decode()
    assert response.status_code == 422
    assert "Enter a date, such as 2026-11-30." in page
    # The message sits below the row of boxes, each box still in its own column.
    row, below = page.split('class="filters__errors"')
    assert row.count('class="filters__field') == 4
    assert 'id="id_date_from_error"' in below


def test_the_history_is_paginated(client, alice, bob, organisation):
    for _ in range(51):
        record(organisation, bob)
    client.force_login(alice)
    first = client.get("/console/history/").content.decode()
    assert "Page 1 of 2" in first
    second = client.get("/console/history/", {"page": 2}).content.decode()
    assert second.count("<tr>") == 2  # the header and one row


def test_the_chart_counts_each_day_by_outcome(client, alice, bob, organisation):
    record(organisation, bob, state="verified")
    record(organisation, bob, state="verified")
    record(organisation, bob, state="failed", days_ago=3)
    record(organisation, bob, state="verified", days_ago=40)
    client.force_login(alice)
    page = client.get("/console/").content.decode()
    today = timezone.localdate()
    assert f"{today.day} {today:%b}: 2 Verified" in page
    assert "3 verifications" not in page
    assert "Verified: <strong>2</strong>" in page
    assert "Failed: <strong>1</strong>" in page


def test_the_console_links_to_api_keys_when_they_exist(client, alice):
    from django.urls import NoReverseMatch, reverse

    client.force_login(alice)
    page = client.get("/console/").content.decode()
    try:
        assert reverse("providers:api_keys") in page
    except NoReverseMatch:
        assert "API keys" not in page


def test_the_chart_is_drawn_for_a_phone_too_described_in_words_and_listed(
    client, alice, bob, organisation
):
    record(organisation, bob, state="verified")
    record(organisation, bob, state="failed", days_ago=3)
    client.force_login(alice)

    page = client.get("/console/").content.decode()

    assert 'class="chart chart--wide"' in page and 'class="chart chart--narrow"' in page
    assert page.count('aria-describedby="wide-desc"') == 1
    today = timezone.localdate()
    description = page.split('<desc id="narrow-desc">')[1].split("</desc>")[0]
    assert "1 Verified, 1 Failed, 0 Cancelled, 0 OTP sent." in description
    assert f"On {today.day} {today:%b}: 1." in description
    table = page.split('class="chart-table"')[1].split("</details>")[0]
    assert table.count('<tr><th scope="row">') == 2
