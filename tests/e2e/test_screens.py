"""Screens the two journeys pass quickly or not at all, in a real browser, with screenshots:
the signed receipt opened, the operator's recent list, the console on a phone, API keys,
the second sign-in step and the error pages."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from kyvs import limits
from tests.conftest import otp_from
from tests.e2e.conftest import DESKTOP, MOBILE, SCREENSHOTS
from tests.factories import (
    add_dose,
    give_totp_device,
    make_beneficiary,
    make_member,
    make_organisation,
    totp_now,
)
from verification.models import Vaccine

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def organisation():
    return make_organisation(name="Sahyatri Travels", scopes=["vaccinations", "demographics"])


@pytest.fixture
def asha():
    Vaccine.objects.get_or_create(name="Covishield", defaults={"primary_doses_required": 2})
    person = make_beneficiary(name="Asha Patel", mobile="9876543210", birth_year=1990, gender="F")
    add_dose(person, "Covishield", 1, date(2021, 5, 3))
    return person


def sign_in(page, url, username):
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("password-for-tests")
    page.get_by_role("button", name="Sign in").click()


def test_the_receipt_opens_into_a_small_qr_code_and_its_text(
    live_server, page, screenshot, sms_outbox, organisation, asha
):
    make_member(organisation, "bob")
    sign_in(page, live_server.url, "bob")
    page.get_by_label("Customer's full name").fill("Asha Patel")
    page.get_by_label("Registered mobile number").fill("98765 43210")
    page.get_by_label("Travel").check()
    page.get_by_role("button", name="Send code to customer").click()
    page.get_by_label("One-time password (OTP)").fill(otp_from(sms_outbox[-1]))
    page.get_by_role("button", name="I agree — share my status").click()

    expect(page.get_by_role("status").filter(has_text="Partially vaccinated")).to_be_visible()
    receipt_text = page.get_by_label("Receipt text")
    expect(receipt_text).to_be_hidden()
    page.get_by_text("Signed receipt").click()
    expect(receipt_text).to_be_visible()
    qr = page.locator("svg.receipt-qr")
    assert 180 <= qr.bounding_box()["width"] <= 240
    # The text box takes the rest of the row rather than a default 20 columns.
    assert receipt_text.bounding_box()["width"] > 300
    download = page.get_by_role("link", name="Download receipt")
    expect(download).to_have_attribute("download", re.compile(r"^kyvs-receipt-.*\.txt$"))
    screenshot("08-receipt")
    page.set_viewport_size(MOBILE)
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    screenshot("08-receipt-mobile")
    page.set_viewport_size(DESKTOP)

    # Back at the form, the operator's own recent verifications, with their day.
    page.get_by_role("link", name="Next customer").click()
    recent = page.locator(".recent li")
    expect(recent).to_have_count(1)
    expect(recent.first).to_contain_text("Verified")
    expect(page.get_by_text("None yet today.")).to_have_count(0)
    screenshot("09-form-with-recent")


def test_an_unknown_address_shows_the_products_404_page(live_server, page, screenshot):
    response = page.goto(f"{live_server.url}/no-such-page/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="We cannot find this page")).to_be_visible()
    screenshot("error-404")


def test_mistakes_on_the_apply_form_are_never_refused_and_a_429_leads_back_to_it(
    live_server, page, screenshot, mid_hour
):
    page.goto(f"{live_server.url}/providers/apply/")
    for _ in range(limits.APPLICATIONS_PER_IP.count + 1):
        page.get_by_role("button", name="Send application").click()
        expect(page.get_by_role("heading", name="Please correct the following")).to_be_visible()
    page.set_viewport_size(MOBILE)
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    screenshot("apply-errors-mobile")
    page.screenshot(path=str(SCREENSHOTS / "apply-errors-mobile-top.png"))
    page.set_viewport_size(DESKTOP)

    # A flood from this address (the live server sees the test's browser as 127.0.0.1).
    for _ in range(limits.APPLICATION_ATTEMPTS_PER_IP.count):
        limits.count(limits.APPLICATION_ATTEMPTS_PER_IP, "127.0.0.1")
    with page.expect_response(re.compile(r"/providers/apply/$")) as response_info:
        page.get_by_role("button", name="Send application").click()
    response = response_info.value
    assert response.status == 429
    assert int(response.headers["retry-after"]) > 0
    expect(page.get_by_role("heading", name="Too many attempts")).to_be_visible()
    screenshot("error-429")
    page.get_by_role("link", name="Back to the form").click()
    expect(
        page.get_by_role("heading", name="Apply to verify customers' vaccination status")
    ).to_be_visible()


def test_an_organisation_admin_signs_in_with_a_code_and_manages_api_keys(
    live_server, page, screenshot, organisation
):
    alice = make_member(organisation, "alice", role="admin")
    device = give_totp_device(alice)
    make_member(organisation, "bob")
    sign_in(page, live_server.url, "alice")

    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    code = page.get_by_label("Code")
    expect(code).to_be_focused()
    screenshot("two-factor-code")
    code.fill(totp_now(device))
    page.get_by_role("button", name="Continue").click()

    page.goto(f"{live_server.url}/console/")
    expect(page.get_by_role("heading", name="Team")).to_be_visible()
    page.set_viewport_size(MOBILE)
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    screenshot("console-mobile")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name", exact=True).fill("Booking system")
    page.get_by_label("Vaccination events (vaccine, dose, date, centre)").check()
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_label("API key")
    expect(key).to_be_visible()
    assert key.get_attribute("aria-describedby")
    screenshot("api-key-created")
    page.get_by_role("link", name="I have copied it").click()
    expect(page.get_by_role("cell", name="Booking system by alice")).to_be_visible()
    screenshot("api-keys")

    page.get_by_role("link", name="Verification history").click()
    page.set_viewport_size(MOBILE)
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    screenshot("history-mobile")
