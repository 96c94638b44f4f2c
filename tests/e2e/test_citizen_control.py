"""The citizen in control, in a real browser: approving on their own phone while the shared
screen follows by itself, locking their status and seeing an operator's attempt as blocked,
and the privacy notice in the three languages. Screenshots go to tests/e2e/screenshots/."""

import re
import time
from datetime import date
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.conftest import otp_from
from tests.e2e.conftest import MOBILE
from tests.factories import add_dose, make_beneficiary, make_member, make_organisation
from verification.models import Vaccine, Verification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

APPROVE_LINK = re.compile(r"https?://\S+(/c/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+)")


@pytest.fixture
def asha():
    Vaccine.objects.get_or_create(name="Covishield", defaults={"primary_doses_required": 2})
    person = make_beneficiary(name="Asha Patel", mobile="9876543210", birth_year=1990)
    add_dose(person, "Covishield", 1, date(2021, 5, 3))
    add_dose(person, "Covishield", 2, date(2021, 8, 2))
    return person


@pytest.fixture
def bob():
    organisation = make_organisation(name="Sahyatri Travels", scopes=["vaccinations"])
    return make_member(organisation, "bob", role="operator")


@pytest.fixture
def phone(browser):
    """The citizen's own phone: a second browser, with nothing shared with the counter."""
    context = browser.new_context(viewport=MOBILE, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in(page, url: str, username: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("password-for-tests")
    page.get_by_role("button", name="Sign in").click()


def start_verification(page, url: str, *, name: str, mobile: str, language: str = "") -> None:
    page.goto(f"{url}/verify/")
    page.get_by_label("Customer's full name").fill(name)
    page.get_by_label("Registered mobile number").fill(mobile)
    page.get_by_label("Travel").check()
    if language:
        page.get_by_label("Customer's language").select_option(language)
    page.get_by_role("button", name="Send code to customer").click()
    expect(page).to_have_url(re.compile(r"/verify/[0-9a-f-]{36}/$"))


def approve_path(message) -> str:
    """The path of the approve link in an OTP SMS (the SMS names the deployment's own
    address, KYVS_SITE_URL; the test's server listens elsewhere)."""
    return urlsplit(APPROVE_LINK.search(message.body).group(0)).path


def test_approving_on_the_phone_moves_the_shared_screen_on_by_itself(
    live_server, page, phone, screenshot, sms_outbox, bob, asha
):
    sign_in(page, live_server.url, "bob")
    # The customer reads Gujarati: the SMS, the counter's screen and the phone's page speak it.
    start_verification(
        page, live_server.url, name="Asha Patel", mobile="98765 43210", language="gu"
    )
    expect(page.locator("html")).to_have_attribute("lang", "gu")
    screenshot("control-01-shared-screen-waits")

    [message] = sms_outbox
    phone.goto(live_server.url + approve_path(message))
    expect(phone.locator("html")).to_have_attribute("lang", "gu")
    expect(phone.get_by_text("Sahyatri Travels").first).to_be_visible()
    screenshot("control-02-phone-approve-gu", on=phone)

    phone.locator("button[value=approve]").click()
    expect(phone.locator("h1")).to_be_visible()
    shown_at = time.monotonic()
    screenshot("control-03-phone-approved-gu", on=phone)

    # Nobody touches the shared screen: it polls, and moves on to the result by itself.
    expect(page).to_have_url(re.compile(r"/result/$"), timeout=5_000)
    moved_after = time.monotonic() - shown_at
    expect(page.locator(".badge--2")).to_be_visible()
    screenshot("control-04-shared-screen-result")
    print(f"the shared screen moved on {moved_after:.2f} s after the phone's answer")
    assert Verification.objects.get().state == Verification.State.VERIFIED

    # The link was for one answer only.
    response = phone.goto(live_server.url + approve_path(message))
    assert response.status == 410
    expect(phone.locator("button[value=approve]")).to_have_count(0)
    screenshot("control-05-phone-link-used", on=phone)


def test_declining_on_the_phone_tells_the_shared_screen_nothing_was_shared(
    live_server, page, phone, screenshot, sms_outbox, bob, asha
):
    sign_in(page, live_server.url, "bob")
    start_verification(page, live_server.url, name="Asha Patel", mobile="9876543210")
    [message] = sms_outbox
    phone.goto(live_server.url + approve_path(message))
    phone.get_by_role("button", name="Decline").click()
    expect(phone.get_by_role("heading", name="You declined")).to_be_visible()

    expect(page.get_by_text("The customer declined. Nothing was shared.")).to_be_visible(
        timeout=5_000
    )
    screenshot("control-06-shared-screen-declined")
    assert Verification.objects.get().state == Verification.State.DECLINED


def test_a_locked_citizen_is_nobody_to_an_operator_and_sees_the_attempt_as_blocked(
    live_server, page, phone, screenshot, sms_outbox, bob, asha
):
    # On her own phone, Asha opens My status and locks it.
    phone.goto(f"{live_server.url}/my-status/")
    phone.get_by_label("Your full name").fill("Asha Patel")
    phone.get_by_label("Your registered mobile number").fill("9876543210")
    phone.get_by_role("button", name="Send me a code").click()
    [own_code] = sms_outbox
    phone.get_by_label("One-time password (OTP)").fill(otp_from(own_code))
    phone.get_by_role("button", name="See my status").click()
    phone.get_by_role("link", name="Who checked me").click()
    expect(phone.get_by_text("No organisation has asked to check your status.")).to_be_visible()
    phone.get_by_role("button", name="Lock my status").click()
    expect(phone.get_by_text("Your status is locked.", exact=True)).to_be_visible()
    screenshot("control-07-history-locked", on=phone)
    sms_outbox.clear()

    # At the counter, the operator's attempt looks exactly like nobody matching: the
    # customer's screen waits for a code that was never sent.
    sign_in(page, live_server.url, "bob")
    start_verification(page, live_server.url, name="Asha Patel", mobile="9876543210")
    expect(page.get_by_label("One-time password (OTP)")).to_be_visible()
    screenshot("control-08-counter-waits-for-nothing")
    assert sms_outbox == []

    # Her history shows the attempt, blocked by her lock.
    phone.reload()
    attempt = phone.locator(".checks__item").filter(has_text="Sahyatri Travels")
    expect(attempt).to_contain_text("Blocked by your lock")
    expect(attempt).to_contain_text("at a counter")
    screenshot("control-09-history-shows-blocked", on=phone)

    # Unlocking asks for a new code first.
    phone.get_by_role("button", name="Unlock my status").click()
    expect(phone.get_by_label("One-time password (OTP)")).to_be_visible()
    assert len(sms_outbox) == 1
    screenshot("control-10-unlock-needs-a-code", on=phone)


@pytest.mark.parametrize(
    ("language", "heading", "officer"),
    [
        ("en", "How KYVS uses your data", "Grievance officer"),
        ("gu", None, None),
        ("hi", None, None),
    ],
)
def test_the_privacy_notice_reads_in_each_language(
    live_server, page, screenshot, settings, language, heading, officer
):
    settings.KYVS_DATA_FIDUCIARY_NAME = "Health Department, Government of Gujarat"
    settings.KYVS_GRIEVANCE_OFFICER_NAME = "Meera Shah"
    settings.KYVS_GRIEVANCE_OFFICER_EMAIL = "grievance@kyvs.example.in"
    page.set_viewport_size(MOBILE)
    page.goto(f"{live_server.url}/")
    page.get_by_role("contentinfo").get_by_role("link", name="Privacy notice").click()
    if language != "en":
        page.locator("select#language").select_option(language)
        page.locator("form.language button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_text("Health Department, Government of Gujarat").first).to_be_visible()
    expect(page.get_by_text("Meera Shah")).to_be_visible()
    expect(page.get_by_role("link", name="grievance@kyvs.example.in")).to_be_visible()
    title = page.locator("h1").inner_text()
    if heading:
        assert title == heading
        expect(page.get_by_role("heading", name=officer)).to_be_visible()
    else:
        # Translated: the heading is in the language's own script, not English.
        script = {"gu": r"[\u0A80-\u0AFF]", "hi": r"[\u0900-\u097F]"}[language]
        assert re.search(script, title) and "KYVS uses" not in title
    board = {
        "en": "Data Protection Board of India",
        "gu": "ભારતના ડેટા પ્રોટેક્શન બોર્ડ",
        "hi": "भारत के डेटा संरक्षण बोर्ड",
    }[language]
    expect(page.get_by_text(board)).to_be_visible()
    screenshot(f"control-11-privacy-{language}")


def test_once_the_code_is_sent_the_shared_screen_stops_asking_whether_to_move_on(
    live_server, page, sms_outbox, bob, asha
):
    # An answer to a poll that arrives while the page is already sending the code would
    # start a second navigation to the one-time result: the first copy is collected and
    # the second, shown, says it is gone. So sending any form of the page ends the polls.
    page.clock.install()
    sign_in(page, live_server.url, "bob")
    start_verification(page, live_server.url, name="Asha Patel", mobile="9876543210")
    polls = []
    page.on(
        "request", lambda request: polls.append(request.url) if "/state/" in request.url else None
    )

    page.clock.run_for(2_500)
    # A request made after the polls: once it is seen, so are they.
    with page.expect_request(lambda request: request.url.endswith("/privacy/")):
        page.evaluate("fetch('/privacy/')")
    assert len(polls) >= 2  # it polls while it waits

    polls.clear()
    page.evaluate(
        """() => {
            const form = document.querySelector("form.otp-form");
            form.addEventListener("submit", (event) => event.preventDefault());
            form.requestSubmit();
        }"""
    )
    page.clock.run_for(5_000)
    with page.expect_request(lambda request: request.url.endswith("/privacy/?after")):
        page.evaluate("fetch('/privacy/?after')")
    assert polls == []
