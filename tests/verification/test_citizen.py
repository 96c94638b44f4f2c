"""The citizen's own side: the front door, "My status" (a verification of one's own,
channel `citizen`) and share cards, with the pages a stranger opens."""

import io
import re
from datetime import date, timedelta
from html import unescape

import pytest
import time_machine
import zxingcpp
from django.test import Client
from django.utils import timezone
from django.utils.formats import date_format
from PIL import Image

from tests.conftest import otp_from
from tests.factories import add_dose, make_beneficiary
from verification.models import StatusShare, Verification

pytestmark = pytest.mark.django_db

MY_STATUS = "/my-status/"
PNG_SIZES = {"1200x630": (1200, 630), "1080x1080": (1080, 1080)}


@pytest.fixture
def priya(db):
    person = make_beneficiary(
        name="Priya Mehta", mobile="9825000003", birth_year=1992, reference_id="12345678904321"
    )
    add_dose(person, "Covishield", 1, date(2021, 5, 1))
    add_dose(person, "Covishield", 2, date(2021, 8, 1))
    return person


def start(client, name="Priya Mehta", mobile="98250 00003"):
    return client.post(MY_STATUS, {"full_name": name, "mobile_number": mobile})


def sign_in(client, sms_outbox, **details) -> None:
    assert start(client, **details).status_code == 302
    response = client.post("/my-status/code/", {"otp": otp_from(sms_outbox[-1])})
    assert response.status_code == 302 and response["Location"] == MY_STATUS


def make_card(client, language="gu", show_first_name=False) -> tuple[StatusShare, str]:
    data = {"language": language}
    if show_first_name:
        data["show_first_name"] = "on"
    response = client.post("/my-status/shares/", data)
    assert response.status_code == 302
    share = StatusShare.objects.latest("created_at")
    page = client.get(response["Location"]).content.decode()
    token = re.search(r"/s/([A-Za-z0-9_\-]+)/card-1200x630\.png", page).group(1)
    return share, token


# The front door


def test_the_front_door_offers_both_ways_in_and_says_what_kyvs_is(client):
    page = client.get("/").content.decode()
    assert 'href="/my-status/"' in page
    assert 'href="/accounts/login/"' in page
    assert 'href="/providers/apply/"' in page
    assert "never shows a certificate" in page


@pytest.mark.parametrize("language", ["gu", "hi"])
def test_the_front_door_speaks_gujarati_and_hindi(client, language):
    client.cookies["django_language"] = language
    page = client.get("/").content.decode()
    assert f'lang="{language}"' in page
    assert "Check my own status" not in page


# My status


def test_a_citizen_sees_their_status_and_doses_after_their_own_code(client, priya, sms_outbox):
    sign_in(client, sms_outbox)
    assert sms_outbox[0].to == "9825000003"
    assert "your own vaccination status" in sms_outbox[0].body
    page = client.get(MY_STATUS).content.decode()
    assert "Fully vaccinated" in page
    assert "Covishield" in page and "2021-08-01" in page


def test_the_own_check_is_recorded_as_the_citizens_and_no_organisations(client, priya, sms_outbox):
    sign_in(client, sms_outbox)
    verification = Verification.objects.get()
    assert verification.channel == Verification.Channel.CITIZEN
    assert verification.organisation is None
    assert verification.state == Verification.State.VERIFIED


def test_a_no_match_gets_the_same_screens_as_a_match_and_no_sms(client, priya, sms_outbox):
    def screens(name, mobile):
        browser = Client()
        started = start(browser, name=name, mobile=mobile)
        code_page = browser.get(started["Location"])
        wrong = browser.post(started["Location"], {"otp": "000000"})
        return [
            (r.status_code, _without_ids(r.content.decode())) for r in (started, code_page, wrong)
        ]

    matched = screens("Priya Mehta", "9825000003")
    unmatched = screens("Nobody Registered", "9125000003")
    assert matched == unmatched
    assert [m.to for m in sms_outbox] == ["9825000003"]


def _without_ids(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r"\d\d:\d\d", "HH:MM", html)


def test_my_status_starts_count_against_the_mobiles_allowance(
    client, priya, sms_outbox, organisation, bob
):
    from verification import services

    for _ in range(5):
        start(Client())
    with pytest.raises(services.VerificationRefused, match="rate_limited"):
        services.start_verification(
            organisation=organisation,
            operator=bob,
            full_name="Priya Mehta",
            mobile="9825000003",
            purpose="travel",
        )
    response = start(Client())
    assert response.status_code == 429
    assert "Too many codes have been sent to this mobile number" in response.content.decode()


def test_a_code_page_belongs_to_the_browser_that_started_it(client, priya, sms_outbox):
    start(client)
    stranger = Client()
    assert stranger.get("/my-status/code/").status_code == 404
    assert stranger.post("/my-status/code/", {"otp": otp_from(sms_outbox[0])}).status_code == 404


def test_the_signed_in_state_ends_after_ten_idle_minutes(client, priya, sms_outbox):
    moment = timezone.now()
    with time_machine.travel(moment, tick=False):
        sign_in(client, sms_outbox)
    with time_machine.travel(moment + timedelta(minutes=9), tick=False):
        assert "Fully vaccinated" in client.get(MY_STATUS).content.decode()
    with time_machine.travel(moment + timedelta(minutes=18), tick=False):
        assert "Fully vaccinated" in client.get(MY_STATUS).content.decode()
    with time_machine.travel(moment + timedelta(minutes=28, seconds=1), tick=False):
        page = client.get(MY_STATUS).content.decode()
    assert "Fully vaccinated" not in page
    assert "Send me a code" in page


def test_signing_out_ends_it(client, priya, sms_outbox):
    sign_in(client, sms_outbox)
    client.post("/my-status/sign-out/")
    assert "Fully vaccinated" not in client.get(MY_STATUS).content.decode()


def test_the_session_id_changes_when_the_citizen_signs_in(client, priya, sms_outbox):
    start(client)
    before = client.session.session_key
    client.post("/my-status/code/", {"otp": otp_from(sms_outbox[-1])})
    assert client.session.session_key != before


def test_an_organisation_never_sees_a_citizens_own_check(client, alice, priya, sms_outbox):
    sign_in(Client(), sms_outbox)
    client.force_login(alice)
    history = client.get("/console/history/").content.decode()
    assert "citizen" not in history.lower()
    assert "••••••0003" not in history


# Share cards


@pytest.mark.parametrize("show_first_name", [False, True])
def test_a_share_page_and_its_pictures_hold_nothing_personal_but_the_chosen_first_name(
    client, priya, sms_outbox, show_first_name
):
    sign_in(client, sms_outbox)
    _share, token = make_card(client, language="hi", show_first_name=show_first_name)
    stranger = Client()
    page = stranger.get(f"/s/{token}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "पूर्ण टीकाकरण हुआ है" in html
    for secret in ("9825000003", "0003", "12345678904321", "1992", "PHC"):
        assert secret not in html, secret
    assert ("Priya" in html) is show_first_name
    for size, dimensions in PNG_SIZES.items():
        picture = stranger.get(f"/s/{token}/card-{size}.png")
        assert picture["Content-Type"] == "image/png"
        image = Image.open(io.BytesIO(picture.content))
        assert image.size == dimensions
        metadata = repr(image.info) + repr(image.getexif())
        for secret in ("9825000003", "12345678904321", "1992", "Priya"):
            assert secret not in metadata
        assert b"Priya" not in picture.content
        [qr] = zxingcpp.read_barcodes(image)
        assert qr.text == f"http://testserver/s/{token}/"


def test_the_share_page_has_link_preview_tags_pointing_at_the_wide_picture(
    client, priya, sms_outbox
):
    sign_in(client, sms_outbox)
    _share, token = make_card(client, language="gu")
    html = Client().get(f"/s/{token}/").content.decode()
    image = f"http://testserver/s/{token}/card-1200x630.png"
    assert f'<meta property="og:image" content="{image}">' in html
    assert f'<meta name="twitter:image" content="{image}">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html


def test_share_pages_and_pictures_set_no_cookie_and_are_cached_only_while_they_live(
    client, priya, sms_outbox
):
    sign_in(client, sms_outbox)
    share, token = make_card(client)
    stranger = Client()
    for url in (f"/s/{token}/", f"/s/{token}/card-1080x1080.png"):
        response = stranger.get(url)
        assert not response.cookies, url
        assert "Cookie" not in response.get("Vary", "")
        max_age = int(re.search(r"max-age=(\d+)", response["Cache-Control"]).group(1))
        assert 0 < max_age <= share.seconds_left()
        assert "public" in response["Cache-Control"]


def test_a_deleted_share_answers_410_with_its_pictures(client, priya, sms_outbox):
    sign_in(client, sms_outbox)
    share, token = make_card(client, language="en")
    client.post(f"/my-status/shares/{share.public_id}/delete/")
    stranger = Client()
    gone = stranger.get(f"/s/{token}/")
    assert gone.status_code == 410
    assert "no longer shared" in gone.content.decode()
    assert stranger.get(f"/s/{token}/card-1200x630.png").status_code == 410


def test_an_expired_share_answers_410(client, priya, sms_outbox, settings):
    sign_in(client, sms_outbox)
    _share, token = make_card(client)
    later = timezone.now() + timedelta(days=settings.KYVS_SHARE_VALID_DAYS, seconds=1)
    with time_machine.travel(later, tick=False):
        assert Client().get(f"/s/{token}/").status_code == 410


def test_another_citizens_share_cannot_be_deleted(client, priya, sms_outbox):
    sign_in(client, sms_outbox)
    share, token = make_card(client)
    make_beneficiary(name="Ravi Shah", mobile="9825000004")
    other = Client()
    sign_in(other, sms_outbox, name="Ravi Shah", mobile="9825000004")
    assert other.post(f"/my-status/shares/{share.public_id}/delete/").status_code == 404
    assert other.get(f"/my-status/shares/{share.public_id}/").status_code == 404
    assert Client().get(f"/s/{token}/").status_code == 200


def test_only_a_signed_in_citizen_makes_or_deletes_cards(client, priya, sms_outbox):
    sign_in(client, sms_outbox)
    share, _token = make_card(client)
    stranger = Client()
    assert stranger.post("/my-status/shares/", {"language": "en"})["Location"] == MY_STATUS
    stranger.post(f"/my-status/shares/{share.public_id}/delete/")
    share.refresh_from_db()
    assert share.is_live()


def test_an_unknown_link_is_not_found(db):
    assert Client().get("/s/not-a-real-token/").status_code == 404


def test_a_card_keeps_the_status_as_kyvs_checked_it(client, priya, sms_outbox):
    sign_in(client, sms_outbox)
    share, token = make_card(client, language="en")
    priya.doses.all().delete()
    html = unescape(Client().get(f"/s/{token}/").content.decode())
    assert "Fully vaccinated" in html
    checked = date_format(timezone.localtime(share.checked_at), "j F Y")
    assert f"KYVS checked this person's vaccination status on {checked}" in html


def test_a_signed_in_operator_opening_a_share_page_gets_no_cookie_either(
    client, bob, priya, sms_outbox
):
    citizen = Client()
    sign_in(citizen, sms_outbox)
    _share, token = make_card(citizen)
    client.force_login(bob)
    response = client.get(f"/s/{token}/")
    assert response.status_code == 200
    assert not response.cookies
