import re

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from providers.models import BackupCodeDevice
from tests.factories import give_totp_device, make_member, totp_now

pytestmark = pytest.mark.django_db

SETUP = "/accounts/two-factor/setup/"
VERIFY = "/accounts/two-factor/"


PASSWORD = "password-for-tests"


def sign_in(client, username):
    return client.post("/accounts/login/", {"username": username, "password": PASSWORD})


def enrol(client, user) -> list[str]:
    """Enrol through the page, as a person would; returns the backup codes shown."""
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(SETUP, {"code": totp_now(device)})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    return re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", page)


def test_an_organisation_admin_must_enrol_before_anything_else(client, organisation):
    make_member(organisation, "erin", role="admin")
    response = sign_in(client, "erin")
    for url in ["/verify/", "/console/", "/console/history/", response["Location"]]:
        page = client.get(url)
        assert page.status_code == 302
        assert page["Location"].startswith(SETUP)


def test_registry_admins_must_enrol_too(client, django_user_model):
    django_user_model.objects.create_superuser("reg2", password="password-for-tests")
    sign_in(client, "reg2")
    assert client.get("/admin/")["Location"].startswith(SETUP + "?next=/admin/")


def test_the_enrolment_page_shows_a_qr_code_drawn_on_the_server(client, organisation):
    make_member(organisation, "erin", role="admin")
    sign_in(client, "erin")
    page = client.get(SETUP).content.decode()
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    assert "<svg" in main and "<script" not in main
    device = TOTPDevice.objects.get(user__username="erin")
    assert not device.confirmed
    import base64

    assert base64.b32encode(device.bin_key).decode().rstrip("=") in page


def test_a_wrong_enrolment_code_is_refused(client, organisation):
    erin = make_member(organisation, "erin", role="admin")
    sign_in(client, "erin")
    client.get(SETUP)
    response = client.post(SETUP, {"code": "000000"})
    assert response.status_code == 422
    assert not TOTPDevice.objects.get(user=erin).confirmed
    assert client.get("/console/").status_code == 302


def test_enrolling_opens_the_console_and_shows_backup_codes_once(client, organisation):
    erin = make_member(organisation, "erin", role="admin")
    sign_in(client, "erin")
    codes = enrol(client, erin)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/console/").status_code == 200
    again = client.get("/accounts/two-factor/backup-codes/").content.decode()
    assert codes[0] not in again and "10 unused backup codes" in again


def test_backup_codes_are_stored_only_as_digests(client, organisation):
    erin = make_member(organisation, "erin", role="admin")
    sign_in(client, "erin")
    codes = enrol(client, erin)
    stored = BackupCodeDevice.objects.get(user=erin).digests
    assert len(stored) == 10
    assert not any(code in str(stored) or code.replace("-", "") in str(stored) for code in codes)


def test_signing_in_asks_for_the_code_after_the_password(client, alice):
    response = sign_in(client, "alice")
    assert response.status_code == 302
    gate = client.get("/console/")
    assert gate["Location"] == f"{VERIFY}?next=/console/"
    wrong = client.post(VERIFY, {"code": "000000", "next": "/console/"})
    assert wrong.status_code == 422
    assert "not right" in wrong.content.decode()


def test_the_right_code_lets_the_admin_in(client, alice):
    sign_in(client, "alice")
    device = TOTPDevice.objects.get(user=alice)
    response = client.post(VERIFY, {"code": totp_now(device), "next": "/console/"})
    assert response["Location"] == "/console/"
    assert client.get("/console/").status_code == 200


def test_a_backup_code_works_once(client, organisation):
    erin = make_member(organisation, "erin", role="admin")
    sign_in(client, "erin")
    codes = enrol(client, erin)
    for attempt, expected in [(1, 302), (2, 422)]:
        other = Client()
        sign_in(other, "erin")
        response = other.post(VERIFY, {"code": codes[0].upper()})
        assert response.status_code == expected, attempt
    assert BackupCodeDevice.objects.get(user=erin).remaining == 9


def test_a_second_factor_page_does_not_open_the_way_to_another_site(client, alice):
    sign_in(client, "alice")
    device = TOTPDevice.objects.get(user=alice)
    response = client.post(VERIFY, {"code": totp_now(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_operators_need_no_second_factor_unless_their_organisation_asks(client, bob, organisation):
    sign_in(client, "bob")
    assert client.get("/verify/").status_code == 200
    organisation.require_operator_two_factor = True
    organisation.save()
    assert client.get("/verify/")["Location"].startswith(SETUP)


def test_an_operator_who_enrolled_of_their_own_accord_is_asked_for_the_code(client, bob):
    give_totp_device(bob)
    sign_in(client, "bob")
    assert client.get("/verify/")["Location"].startswith(VERIFY)


def test_the_code_step_is_rate_limited_per_account(client, alice):
    sign_in(client, "alice")
    for _ in range(10):
        client.post(VERIFY, {"code": "000000"})
    device = TOTPDevice.objects.get(user=alice)
    limited = client.post(VERIFY, {"code": totp_now(device)})
    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 15 * 60
    assert not client.session.get("otp_device_id")


def test_anonymous_visitors_cannot_reach_the_second_factor_pages(client):
    for url in [SETUP, VERIFY, "/accounts/two-factor/backup-codes/"]:
        assert client.get(url)["Location"].startswith("/accounts/login/")


# --- where a finished sign-in leads ---------------------------------------------------------


def test_an_organisation_admin_who_types_their_code_lands_on_the_console(client, alice):
    after_password = sign_in(client, "alice")
    asked = client.get(after_password["Location"])
    assert asked["Location"].startswith(VERIFY)

    device = TOTPDevice.objects.get(user=alice)
    after_code = client.post(asked["Location"], {"code": totp_now(device)})

    assert client.get(after_code["Location"])["Location"] == "/console/"


def test_an_operator_lands_on_the_verification_form(client, bob):
    response = sign_in(client, "bob")
    assert client.get(response["Location"])["Location"] == "/verify/"


def test_a_registry_admin_lands_on_the_admin(client, registry_admin):
    sign_in(client, "registry")
    device = TOTPDevice.objects.get(user=registry_admin)
    after_code = client.post(f"{VERIFY}?next=/", {"code": totp_now(device)})
    # "/" is the citizens' front door; a signed-in person is sent on to their own start.
    landed = client.get(after_code["Location"], follow=True).redirect_chain[-1][0]
    assert landed == "/admin/"


def test_the_console_button_shows_only_once_the_second_factor_is_done(client, alice):
    sign_in(client, "alice")
    before = client.get(VERIFY).content.decode()
    assert 'href="/console/"' not in before

    device = TOTPDevice.objects.get(user=alice)
    client.post(VERIFY, {"code": totp_now(device)})

    assert 'href="/console/"' in client.get("/verify/").content.decode()


def test_the_front_door_sends_a_signed_in_operator_on_to_the_form(client, bob):
    client.force_login(bob)
    landed = client.get("/", follow=True).redirect_chain[-1][0]
    assert landed == "/verify/"


def test_the_front_door_shows_itself_to_anyone_not_signed_in(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Check my own status" in response.content.decode()
