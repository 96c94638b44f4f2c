"""A citizen's own side in a real browser: from the front door to My status, share cards in
Gujarati and Hindi, the share page as a stranger sees it, and the share deleted. Every
screen and both pictures of each card are saved to tests/e2e/screenshots/."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.conftest import otp_from
from tests.e2e.conftest import MOBILE, SCREENSHOTS
from tests.factories import add_dose, make_beneficiary
from verification.models import Vaccine

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def priya():
    Vaccine.objects.get_or_create(name="Covishield", defaults={"primary_doses_required": 2})
    person = make_beneficiary(name="Priya Mehta", mobile="9825000003", birth_year=1992)
    add_dose(person, "Covishield", 1, date(2021, 5, 1))
    add_dose(person, "Covishield", 2, date(2021, 8, 1))
    return person


def save_pictures(page, card_page_url_prefix: str, name: str) -> None:
    """Fetch both pictures of the card shown on the page and keep them beside the
    screenshots, to be looked at."""
    wide = page.locator("img.share-card").get_attribute("src")
    token = re.search(r"/s/([^/]+)/", wide).group(1)
    for size in ("1200x630", "1080x1080"):
        response = page.request.get(f"{card_page_url_prefix}/s/{token}/card-{size}.png")
        assert response.ok and response.headers["content-type"] == "image/png"
        (SCREENSHOTS / f"{name}-{size}.png").write_bytes(response.body())


def make_card(page, language_name: str, *, with_name: bool) -> str:
    page.get_by_label(language_name).check()
    if with_name:
        page.get_by_label(re.compile("Show my first name")).check()
    page.get_by_role("button", name="Make the card").click()
    expect(page.get_by_role("heading", name="My card")).to_be_visible()
    return page.locator("#share-link").input_value()


def test_a_citizen_checks_their_status_and_shares_cards_a_stranger_can_open(
    live_server, page, browser, screenshot, sms_outbox, priya
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(MOBILE)  # on their own phone

    page.goto(f"{live_server.url}/")
    screenshot("citizen-01-front-door")
    page.get_by_role("link", name=re.compile("Check my own status")).click()
    expect(page.get_by_role("heading", name="Check my own status")).to_be_visible()
    page.get_by_label("Your full name").fill("Priya Mehta")
    page.get_by_label("Your registered mobile number").fill("98250 00003")
    screenshot("citizen-02-start")
    page.get_by_role("button", name="Send me a code").click()

    expect(page.get_by_role("heading", name="Type the code we sent")).to_be_visible()
    screenshot("citizen-03-code")
    [message] = sms_outbox
    page.get_by_label("One-time password (OTP)").fill(otp_from(message))
    page.get_by_role("button", name="See my status").click()

    expect(page.get_by_role("heading", name="Fully vaccinated")).to_be_visible()
    expect(page.get_by_text("Covishield").first).to_be_visible()
    screenshot("citizen-04-my-status")

    gujarati_link = make_card(page, "ગુજરાતી", with_name=False)
    screenshot("citizen-05-card-gu")
    save_pictures(page, live_server.url, "citizen-card-gu")
    page.get_by_role("link", name="Back to my status").click()

    hindi_link = make_card(page, "हिन्दी", with_name=True)
    screenshot("citizen-06-card-hi-with-name")
    save_pictures(page, live_server.url, "citizen-card-hi-name")

    # A stranger, in a browser of their own, opens the Gujarati link.
    stranger = browser.new_context(viewport=MOBILE, locale="en-GB")
    try:
        other = stranger.new_page()
        other.goto(gujarati_link)
        expect(other.get_by_role("heading", name="સંપૂર્ણ રસીકરણ થયું છે")).to_be_visible()
        expect(other.locator("img.share-card")).to_be_visible()
        assert "Priya" not in other.content()
        screenshot("citizen-07-shared-page-gu", on=other)
        assert stranger.cookies() == []
        other.goto(hindi_link)
        expect(other.get_by_role("heading", name="पूर्ण टीकाकरण हुआ है")).to_be_visible()
        expect(other.get_by_text("Priya").first).to_be_visible()
        screenshot("citizen-08-shared-page-hi", on=other)

        # The citizen deletes the Hindi share (the newest, first in the list); the
        # stranger's page is gone with it, and the Gujarati one stays.
        page.get_by_role("link", name="Back to my status").click()
        page.get_by_role("button", name="Delete").first.click()
        expect(page.get_by_text(re.compile("The share is deleted"))).to_be_visible()
        screenshot("citizen-09-deleted")
        # Reloading asks KYVS again (a page is cached for a minute at most).
        gone = other.reload()
        assert gone is not None and gone.status == 410
        screenshot("citizen-10-gone", on=other)
        assert other.goto(gujarati_link).status == 200
    finally:
        stranger.close()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Check my own status")).to_be_visible()
