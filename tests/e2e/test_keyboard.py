"""Keyboard and screen-reader paths in a real browser: the language picker changes nothing
until its button is pressed (WCAG 3.2.2), focus lands on the first field in error, and the
result counts down, warns, gives more time on request and clears itself (WCAG 2.2.1)."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.conftest import otp_from
from tests.e2e.test_screens import sign_in
from tests.factories import add_dose, make_beneficiary, make_member, make_organisation
from verification.models import Vaccine

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bob():
    organisation = make_organisation(name="Sahyatri Travels")
    return make_member(organisation, "bob")


@pytest.fixture
def asha():
    Vaccine.objects.get_or_create(name="Covishield", defaults={"primary_doses_required": 2})
    person = make_beneficiary(name="Asha Patel", mobile="9876543210", birth_year=1990)
    add_dose(person, "Covishield", 1, date(2021, 5, 3))
    return person


def test_arrowing_through_the_languages_changes_nothing_until_change_is_pressed(live_server, page):
    page.goto(f"{live_server.url}/accounts/login/")
    loads = []
    page.on("load", lambda _page: loads.append(page.url))
    picker = page.get_by_label("Language")
    picker.focus()

    page.keyboard.press("ArrowDown")  # Gujarati
    page.keyboard.press("ArrowDown")  # Hindi

    expect(picker).to_have_value("hi")
    assert loads == []
    assert page.evaluate("document.documentElement.lang") == "en"
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Change")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    page.wait_for_load_state("load")
    assert len(loads) == 1


def test_after_a_refused_form_the_first_field_in_error_has_the_focus(live_server, page, bob):
    sign_in(page, live_server.url, "bob")
    page.get_by_label("Customer's full name").fill("Asha Patel")
    page.get_by_label("Registered mobile number").fill("12345")
    page.get_by_label("Travel").check()
    page.get_by_role("button", name="Send code to customer").click()

    expect(page.get_by_label("Registered mobile number")).to_be_focused()


def test_the_result_counts_down_gives_more_time_and_clears_itself(
    live_server, page, bob, asha, sms_outbox, screenshot
):
    page.clock.install()
    sign_in(page, live_server.url, "bob")
    page.get_by_label("Customer's full name").fill("Asha Patel")
    page.get_by_label("Registered mobile number").fill("98765 43210")
    page.get_by_label("Travel").check()
    page.get_by_role("button", name="Send code to customer").click()
    page.get_by_label("One-time password (OTP)").fill(otp_from(sms_outbox[-1]))
    page.get_by_role("button", name="I agree — share my status").click()
    result_url = page.url
    countdown = page.locator("[data-clear-time]")
    news = page.locator("[data-clear-news]")
    expect(countdown).to_have_text("2:00")
    # No refresh a browser with script would follow: only the fallback inside <noscript>.
    assert re.search(r"<noscript><meta http-equiv=\"refresh\"", page.content())

    page.clock.run_for(91_000)
    expect(countdown).to_have_text("0:29")
    expect(news).to_contain_text("Less than 30 seconds left")
    screenshot("result-warning")

    page.get_by_role("button", name="I need more time").click()
    expect(countdown).to_have_text("2:00")
    expect(news).to_have_text("The screen now clears in 2:00.")
    page.clock.run_for(100_000)
    assert page.url == result_url

    page.clock.run_for(21_000)
    page.wait_for_url(f"{live_server.url}/verify/")
    expect(page.get_by_text("Partially vaccinated")).to_have_count(0)
    page.go_back()
    expect(page.get_by_text("Partially vaccinated")).to_have_count(0)
