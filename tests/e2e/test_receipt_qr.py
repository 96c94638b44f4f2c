"""The receipt's QR code reads from a screen: a phone's decoder gets, from a screenshot of
the result page as a monitor shows it, the short link to the receipt's page, and that page
checks the receipt kept by the organisation."""

import io
from datetime import date

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import otp_from
from tests.e2e.test_screens import sign_in
from tests.factories import add_dose, make_beneficiary, make_member, make_organisation
from verification import receipts
from verification.models import Vaccine, Verification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def verified_result(live_server, page, sms_outbox):
    """The operator's result page, its receipt opened; returns the verification."""
    organisation = make_organisation(name="Sahyatri Travels", scopes=["vaccinations"])
    make_member(organisation, "bob")
    Vaccine.objects.get_or_create(name="Covishield", defaults={"primary_doses_required": 2})
    asha = make_beneficiary(name="Asha Patel", mobile="9876543210", birth_year=1990)
    add_dose(asha, "Covishield", 1, date(2021, 5, 3))
    sign_in(page, live_server.url, "bob")
    page.get_by_label("Customer's full name").fill("Asha Patel")
    page.get_by_label("Registered mobile number").fill("98765 43210")
    page.get_by_label("Travel").check()
    page.get_by_role("button", name="Send code to customer").click()
    page.get_by_label("One-time password (OTP)").fill(otp_from(sms_outbox[-1]))
    page.get_by_role("button", name="I agree — share my status").click()
    page.get_by_text("Signed receipt").click()
    return Verification.objects.get()


def test_a_qr_decoder_reads_the_receipts_link_from_a_screenshot(
    live_server, page, verified_result, screenshot
):
    qr = page.locator("svg.receipt-qr")
    expect(qr).to_be_visible()
    shot = Image.open(io.BytesIO(qr.screenshot()))

    [barcode] = zxingcpp.read_barcodes(shot, formats=zxingcpp.BarcodeFormat.QRCode)

    verification_id = str(verified_result.public_id)
    check = receipts.link_check(verification_id)
    assert barcode.text == f"{live_server.url}/receipts/{verification_id}/?c={check}"
    # Big enough modules to scan from a monitor: at least 4 px each as drawn on the page.
    modules = int(qr.get_attribute("viewBox").split()[2]) // 4 - 8  # segno: scale 4, border 4
    assert modules <= 41  # version 6 or lower
    assert qr.bounding_box()["width"] / (modules + 8) >= 4
    screenshot("receipt-qr")


def test_the_link_in_the_qr_code_checks_the_receipt_the_organisation_kept(
    live_server, page, verified_result, screenshot
):
    kept = page.locator("#receipt-text").input_value()
    [barcode] = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(page.locator("svg.receipt-qr").screenshot())),
        formats=zxingcpp.BarcodeFormat.QRCode,
    )

    page.goto(barcode.text)
    expect(
        page.get_by_role("heading", name="KYVS issued a signed receipt for this verification")
    ).to_be_visible()
    expect(page.locator(".facts").get_by_text("Sahyatri Travels")).to_be_visible()
    page.get_by_label("Receipt", exact=True).fill(kept)
    page.get_by_role("button", name="Check receipt").click()

    expect(page.get_by_role("status")).to_contain_text("Valid")
    expect(page.get_by_text("Partially vaccinated")).to_be_visible()
    screenshot("receipt-link-checked")


def test_a_link_with_a_wrong_check_value_finds_nothing(live_server, page, verified_result):
    url = f"{live_server.url}/receipts/{verified_result.public_id}/?c=AAAAAAAAAAAAAAAAAAAAAA"
    assert page.goto(url).status == 404
