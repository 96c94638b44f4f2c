"""An organisation's first day in a real browser: apply, approval in the admin, two-factor
enrolment, an invitation and the first verification, with a screenshot of each screen."""

import re
from datetime import date

import pytest
from django.core import mail
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.conftest import otp_from
from tests.factories import add_dose, give_totp_device, make_beneficiary, totp_now
from verification.models import Vaccine

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ravi():
    Vaccine.objects.get_or_create(name="Covishield", defaults={"primary_doses_required": 2})
    person = make_beneficiary(name="Ravi Desai", mobile="9898012345", birth_year=1979)
    add_dose(person, "Covishield", 1, date(2021, 5, 3))
    add_dose(person, "Covishield", 2, date(2021, 8, 2))
    return person


@pytest.fixture
def registry_admin(django_user_model):
    user = django_user_model.objects.create_superuser("registry", password="password-for-tests")
    give_totp_device(user)
    return user


def link_in(message) -> str:
    return next(word for word in message.body.split() if word.startswith("http"))


def test_an_organisation_applies_is_approved_and_verifies_its_first_customer(
    live_server, browser, page, screenshot, sms_outbox, registry_admin, ravi
):
    url = live_server.url

    # 1. The applicant fills in the public form.
    page.goto(f"{url}/providers/apply/")
    page.get_by_label("Organisation name").fill("Navrang Cinemas")
    page.get_by_label("Kind of organisation").select_option("entertainment")
    page.get_by_label("Private").check()
    page.get_by_label("Corporate Identity Number (CIN)").check()
    page.get_by_label("Registration number", exact=True).fill("U92130GJ2009PTC056789")
    page.get_by_label("Registered address").fill("12 CG Road, Navrangpura, Ahmedabad 380009")
    page.get_by_label("State or union territory").select_option("GJ")
    page.get_by_label("Website").fill("https://navrang.example")
    page.get_by_label("Venue entry").check()
    page.get_by_label("Vaccination events (vaccine, dose, date, centre)").check()
    page.get_by_label("Why you need the vaccination events").fill(
        "State rules ask us to check the date of the second dose."
    )
    page.get_by_label("Contact person").fill("Meera Shah")
    page.get_by_label("Official e-mail").fill("meera@navrang.example")
    page.get_by_label("Official mobile").fill("98250 12345")
    page.get_by_label("Choose a password").fill("kesar-mango-lassi-42")
    page.get_by_label("Password again").fill("kesar-mango-lassi-42")
    page.get_by_label(re.compile("We accept the terms of use")).check()
    screenshot("onboarding-01-apply")
    page.get_by_role("button", name="Send application").click()
    expect(page.get_by_role("heading", name="Thank you. What happens next")).to_be_visible()
    screenshot("onboarding-02-what-next")
    assert "received" in mail.outbox[-1].subject

    # 2. The registry admin signs in with two factors and approves in the admin.
    admin = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    admin.goto(f"{url}/admin/")
    admin.get_by_label("Username").fill("registry")
    admin.get_by_label("Password").fill("password-for-tests")
    admin.get_by_role("button", name="Sign in").click()
    expect(admin.get_by_role("heading", name="Enter your code")).to_be_visible()
    admin.get_by_label("Code").fill(totp_now(TOTPDevice.objects.get(user=registry_admin)))
    admin.get_by_role("button", name="Continue").click()
    expect(admin).to_have_url(f"{url}/admin/")
    admin.goto(f"{url}/admin/providers/pendingapplication/")
    admin.get_by_role("checkbox", name=re.compile("Select this object")).first.check()
    admin.locator("select[name=action]").select_option("approve")
    screenshot("onboarding-03-review-queue", on=admin)
    admin.get_by_role("button", name="Go").click()
    expect(admin.get_by_text("State rules ask us to check")).to_be_visible()
    admin.get_by_label("Daily quota").fill("300")
    screenshot("onboarding-04-approve", on=admin)
    admin.get_by_role("button", name="Approve").click()
    expect(admin.get_by_text("each has been e-mailed")).to_be_visible()
    assert "approved" in mail.outbox[-1].body

    # 3. The organisation admin signs in and must enrol an authenticator app.
    page.goto(f"{url}/console/")
    page.get_by_label("Username").fill("meera@navrang.example")
    page.get_by_label("Password").fill("kesar-mango-lassi-42")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    screenshot("onboarding-05-enrol")
    device = TOTPDevice.objects.get(user__username="meera@navrang.example")
    page.get_by_label("Code").fill(totp_now(device))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_role("heading", name="Your backup codes")).to_be_visible()
    screenshot("onboarding-06-backup-codes")
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(f"{url}/console/")

    # 4. She invites an operator.
    page.get_by_role("link", name="Invite a colleague").click()
    page.get_by_label("E-mail address").fill("desk@navrang.example")
    page.get_by_label("Operator").check()
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to desk@navrang.example.")).to_be_visible()
    screenshot("onboarding-07-console")
    invitation = next(m for m in mail.outbox if m.to == ["desk@navrang.example"])

    # 5. The operator chooses a password and verifies the first customer.
    desk = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    desk.goto(link_in(invitation))
    desk.get_by_label("New password", exact=True).fill("popcorn-and-ticket-9")
    desk.get_by_label("New password confirmation").fill("popcorn-and-ticket-9")
    screenshot("onboarding-08-invitation", on=desk)
    desk.get_by_role("button", name="Set password and sign in").click()
    desk.get_by_label("Customer's full name").fill("Ravi Desai")
    desk.get_by_label("Registered mobile number").fill("98980 12345")
    desk.get_by_role("button", name="Send code to customer").click()
    expect(desk).to_have_url(re.compile(r"/verify/[0-9a-f-]{36}/$"))
    desk.get_by_label("One-time password (OTP)").fill(otp_from(sms_outbox[-1]))
    desk.get_by_role("button", name="I agree — share my status").click()
    expect(desk.get_by_text("Fully vaccinated").first).to_be_visible()
    screenshot("onboarding-09-first-verification", on=desk)

    # 6. The admin sees it in the console's chart and history, without the answer.
    page.goto(f"{url}/console/")
    expect(page.locator("svg.chart--wide")).to_be_visible()
    screenshot("onboarding-10-console-chart")
    page.get_by_role("link", name="Verification history").click()
    expect(page.get_by_role("cell", name="desk@navrang.example")).to_be_visible()
    expect(page.get_by_text("Fully vaccinated")).to_have_count(0)
    screenshot("onboarding-11-history")
