"""The operator's whole flow in a real browser, with a screenshot of every screen."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.conftest import otp_from
from tests.e2e.conftest import DESKTOP, MOBILE
from tests.factories import add_dose, make_beneficiary, make_member, make_organisation
from verification.models import Vaccine, Verification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def asha():
    # A transactional test's flush removes the vaccines the data migration seeded, so an
    # earlier transactional test may have left none behind.
    Vaccine.objects.get_or_create(name="Covishield", defaults={"primary_doses_required": 2})
    person = make_beneficiary(name="Asha Patel", mobile="9876543210", birth_year=1990, gender="F")
    add_dose(person, "Covishield", 1, date(2021, 5, 3))
    add_dose(person, "Covishield", 2, date(2021, 8, 2))
    return person


@pytest.fixture
def bob():
    organisation = make_organisation(
        name="Sahyatri Travels", scopes=["vaccinations", "demographics"]
    )
    return make_member(organisation, "bob", role="operator")


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_an_operator_verifies_a_customer_once(
    live_server, page, screenshot, sms_outbox, bob, asha
):
    # Signing in: the form comes first, and sends the operator on to it afterwards.
    page.goto(f"{live_server.url}/verify/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/verify/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot("01-login")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("password-for-tests")
    page.get_by_role("button", name="Sign in").click()

    # The form, first with mistakes.
    expect(page).to_have_url(f"{live_server.url}/verify/")
    name = page.get_by_label("Customer's full name")
    mobile = page.get_by_label("Registered mobile number")
    expect(name).to_be_focused()
    screenshot("02-form")
    mobile.fill("12345")
    page.get_by_role("button", name="Send code to customer").click()
    problems = page.get_by_role("alert")
    for error in (
        "Enter the customer's full name.",
        "Enter a 10-digit Indian mobile number, such as 98765 43210.",
        "Choose why you are asking.",
    ):
        # Listed at the top, linking to the field, and said again at the field itself.
        expect(problems.get_by_role("link", name=error)).to_be_visible()
        expect(page.locator(".field--error").filter(has_text=error)).to_be_visible()
    expect(mobile).to_have_value("12345")
    screenshot("03-form-errors")
    assert sms_outbox == []

    # The name as the operator hears it, the number as the customer says it.
    name.fill("  asha   PATEL ")
    mobile.fill("+91 98765-43210")
    page.get_by_label("Travel").check()
    page.get_by_role("button", name="Send code to customer").click()

    # The customer's screen.
    expect(page).to_have_url(re.compile(r"/verify/[0-9a-f-]{36}/$"))
    consent_url = page.url
    expect(
        page.get_by_role(
            "heading", name="Sahyatri Travels is asking to see your vaccination status"
        )
    ).to_be_visible()
    expect(page.get_by_text("Travel", exact=True)).to_be_visible()
    expect(page.get_by_text("Demographics (name as registered")).to_be_visible()
    expect(page.get_by_text("••••••3210")).to_be_visible()
    expect(
        page.get_by_text("You may decline and show your vaccination certificate")
    ).to_be_visible()
    otp_field = page.get_by_label("One-time password (OTP)")
    expect(otp_field).to_have_attribute("autocomplete", "one-time-code")
    expect(otp_field).to_have_attribute("inputmode", "numeric")
    screenshot("04-consent")
    page.set_viewport_size(MOBILE)
    screenshot("04-consent-mobile")
    page.set_viewport_size(DESKTOP)

    assert len(sms_outbox) == 1
    message = sms_outbox[0]
    assert message.to == "9876543210"
    assert "Sahyatri Travels" in message.body
    code = otp_from(message)

    # A wrong code: told so, with the tries left, and still on the customer's screen.
    otp_field.fill(wrong_code(code))
    page.get_by_role("button", name="I agree — share my status").click()
    expect(page.get_by_text("That code is not right.")).to_be_visible()
    expect(page.get_by_text("4 tries left.")).to_be_visible()
    assert page.url == consent_url
    screenshot("05-consent-wrong-code")

    # The right code: the result, once, and never cached.
    otp_field = page.get_by_label("One-time password (OTP)")
    otp_field.fill(code)
    with page.expect_response(re.compile(r"/result/$")) as response_info:
        page.get_by_role("button", name="I agree — share my status").click()
    response = response_info.value
    assert response.status == 200
    assert "no-store" in response.headers["cache-control"]
    result_url = page.url
    expect(page.get_by_role("status").filter(has_text="Fully vaccinated")).to_be_visible()
    expect(page.get_by_text("Status code 2 of 2")).to_be_visible()
    doses = page.get_by_role("table").get_by_role("row")
    expect(doses).to_have_count(3)  # the header and two doses
    expect(doses.nth(1)).to_contain_text("Covishield")
    expect(doses.nth(2)).to_contain_text("Dose 2")
    expect(page.get_by_text("Asha Patel", exact=True)).to_be_visible()
    expect(page.get_by_text("1990", exact=True)).to_be_visible()
    verification = Verification.objects.get()
    expect(page.get_by_text(str(verification.public_id))).to_be_visible()
    assert verification.state == Verification.State.VERIFIED
    screenshot("06-result")
    page.set_viewport_size(MOBILE)
    screenshot("06-result-mobile")
    page.set_viewport_size(DESKTOP)

    # Next customer: an empty form.
    page.get_by_role("link", name="Next customer").click()
    expect(page).to_have_url(f"{live_server.url}/verify/")
    expect(page.get_by_label("Customer's full name")).to_have_value("")
    expect(page.get_by_label("Registered mobile number")).to_have_value("")

    # Going back shows nothing of the customer.
    page.go_back()
    expect(page).to_have_url(result_url)
    expect(page.get_by_role("heading", name="This result is no longer shown")).to_be_visible()
    for private in ("Fully vaccinated", "Asha Patel", "Covishield", "1990"):
        expect(page.get_by_text(private)).to_have_count(0)
    screenshot("07-result-gone")
