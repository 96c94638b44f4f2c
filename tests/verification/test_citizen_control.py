"""The citizen in control: who checked me, lock and block (indistinguishable from no match
on every channel), report, decline, the receipt SMS, the customer's language, and approving
on one's own phone."""

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from kyvs.converters import CompactUuidConverter
from providers.models import OrganisationDecision
from tests.conftest import otp_from, poll_address
from tests.embed.helpers import ORIGIN, create_session, issue_key, path_of, register
from tests.factories import make_beneficiary, make_member, make_verification
from tests.verification.api_client import ApiClient
from verification import services
from verification.models import CitizenReport, CitizenRestriction, Verification

pytestmark = pytest.mark.django_db

ASHA = {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def signed_in_citizen(sms_outbox, name="Asha Patel", mobile="9876543210") -> Client:
    citizen = Client()
    citizen.post("/my-status/", {"full_name": name, "mobile_number": mobile})
    citizen.post("/my-status/code/", {"otp": otp_from(sms_outbox[-1])})
    return citizen


def operator_start(organisation, operator, **details):
    return services.start_verification(
        organisation=organisation,
        operator=operator,
        full_name=details.get("full_name", "Asha Patel"),
        mobile=details.get("mobile", "9876543210"),
        purpose="travel",
    )


def screen(html: str) -> str:
    html = _UUID.sub("ID", html)
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    html = re.sub(r'data-poll-url="[^"]+"', "POLL", html)  # names its own verification
    return re.sub(r"\b\d\d:\d\d\b", "TIME", html)


# Who checked me


def test_the_history_lists_only_this_citizens_checks_newest_first(
    organisation, bob, other_organisation, charlie, asha, sms_outbox
):
    make_beneficiary(name="Ravi Shah", mobile="9825000004")
    first = operator_start(organisation, bob)
    operator_start(other_organisation, charlie)
    operator_start(organisation, bob, full_name="Ravi Shah", mobile="9825000004")
    operator_start(organisation, bob, full_name="Nobody Known")
    citizen = signed_in_citizen(sms_outbox)
    page = citizen.get("/my-status/history/").content.decode()
    assert page.index("Rail Counter Vadodara") < page.index("Sahyatri Travels")
    assert page.count('class="checks__item"') == 2
    assert str(first.public_id) in page  # the report link of her own check
    assert "Waiting for the code" in page


def test_the_history_is_only_shown_after_the_citizens_own_code(
    asha, organisation, bob, sms_outbox
):
    operator_start(organisation, bob)
    stranger = Client()
    response = stranger.get("/my-status/history/")
    assert response.status_code == 302
    assert "Sahyatri" not in stranger.get(response["Location"]).content.decode()


def test_the_history_says_how_each_check_ended_and_what_was_shown(
    organisation, bob, asha, sms_outbox
):
    shared = operator_start(organisation, bob)
    services.confirm_verification(shared, otp_from(sms_outbox[-1]))
    declined = operator_start(organisation, bob)
    services.decline_verification(declined)
    page = signed_in_citizen(sms_outbox).get("/my-status/history/").content.decode()
    assert "Shared: status and vaccinations" in page
    assert "Not shared: you declined" in page


# Lock and block: indistinguishable from no match, on every channel


def _web_screens(client, operator, details) -> list:
    client.force_login(operator)
    started = client.post("/verify/", details)
    consent = client.get(started["Location"])
    wrong = client.post(started["Location"], {"otp": "000000"})
    return [(r.status_code, screen(r.content.decode())) for r in (started, consent, wrong)]


def _api_answers(key, details) -> list:
    api = ApiClient(key)
    started = api.generate(details["full_name"], details["mobile_number"])
    txn = started.json()["txnId"]
    wrong = api.confirm(txn, "000000")
    return [
        (r.status_code, _UUID.sub("ID", r.content.decode()), r.get("RateLimit-Limit"))
        for r in (started, wrong)
    ]


def _embed_screens(key, details) -> list:
    body = create_session(
        key, full_name=details["full_name"], mobile_number=details["mobile_number"]
    ).json()
    frame = Client()
    response = frame.get(path_of(body["url"]), follow=True)
    consent = response.redirect_chain[-1][0]
    first = frame.get(consent)
    wrong = frame.post(consent, {"otp": "000000"})
    return [(r.status_code, screen(r.content.decode())) for r in (first, wrong)]


@pytest.mark.parametrize("restriction", ["lock", "block"])
def test_a_locked_or_blocked_citizen_looks_exactly_like_nobody_on_every_channel(
    client, organisation, asha, sms_outbox, restriction, settings
):
    settings.KYVS_OTPS_PER_MOBILE_PER_HOUR = 100  # six starts to one mobile here
    register(organisation, ORIGIN)
    key = issue_key(organisation)
    operator = make_member(organisation, "desk")
    CitizenRestriction.objects.create(
        beneficiary=asha, organisation=None if restriction == "lock" else organisation
    )
    nobody = {**ASHA, "full_name": "Nobody Known"}
    assert _web_screens(client, operator, ASHA) == _web_screens(Client(), operator, nobody)
    assert _api_answers(key, ASHA) == _api_answers(key, nobody)
    assert _embed_screens(key, ASHA) == _embed_screens(key, nobody)
    assert sms_outbox == []
    blocked = Verification.objects.filter(beneficiary=asha)
    assert blocked.count() == 3
    expected = "lock" if restriction == "lock" else "organisation"
    assert set(blocked.values_list("blocked", flat=True)) == {expected}


def test_a_block_stops_only_the_organisation_blocked(
    organisation, bob, other_organisation, charlie, asha, sms_outbox
):
    CitizenRestriction.objects.create(beneficiary=asha, organisation=organisation)
    operator_start(organisation, bob)
    assert sms_outbox == []
    operator_start(other_organisation, charlie)
    assert len(sms_outbox) == 1


def test_a_locked_citizen_still_sees_their_own_status(asha, sms_outbox):
    CitizenRestriction.objects.create(beneficiary=asha, organisation=None)
    citizen = signed_in_citizen(sms_outbox)
    assert "Not vaccinated" in citizen.get("/my-status/").content.decode()


def test_a_blocked_attempt_shows_in_the_history_as_blocked(organisation, bob, asha, sms_outbox):
    citizen = signed_in_citizen(sms_outbox)
    citizen.post("/my-status/lock/")
    operator_start(organisation, bob)
    page = citizen.get("/my-status/history/").content.decode()
    assert "Blocked by your lock" in page


def test_unlocking_needs_a_fresh_code(asha, sms_outbox):
    citizen = signed_in_citizen(sms_outbox)
    citizen.post("/my-status/lock/")
    sent_before = len(sms_outbox)
    response = citizen.post("/my-status/unlock/")
    assert response["Location"] == "/my-status/code/"
    assert len(sms_outbox) == sent_before + 1
    assert CitizenRestriction.objects.filter(beneficiary=asha, organisation=None).exists()
    citizen.post("/my-status/code/", {"otp": "000000"})
    assert CitizenRestriction.objects.filter(beneficiary=asha, organisation=None).exists()
    citizen.post("/my-status/code/", {"otp": otp_from(sms_outbox[-1])})
    assert not CitizenRestriction.objects.filter(beneficiary=asha).exists()


def test_only_an_organisation_that_checked_the_citizen_can_be_blocked_from_the_history(
    organisation, bob, other_organisation, asha, sms_outbox
):
    operator_start(organisation, bob)
    citizen = signed_in_citizen(sms_outbox)
    assert citizen.post(f"/my-status/block/{organisation.public_id}/").status_code == 302
    assert citizen.post(f"/my-status/block/{other_organisation.public_id}/").status_code == 404
    assert list(CitizenRestriction.objects.values_list("organisation", flat=True)) == [
        organisation.pk
    ]


# Report


def test_a_report_lands_in_the_registry_queue_and_its_action_suspends_the_organisation(
    client, registry_admin, organisation, bob, asha, sms_outbox
):
    check = operator_start(organisation, bob)
    citizen = signed_in_citizen(sms_outbox)
    citizen.post(f"/my-status/report/{check.public_id}/", {"text": "I was not there."})
    report = CitizenReport.objects.get()
    assert (report.organisation, report.text) == (organisation, "I was not there.")

    client.force_login(registry_admin)
    queue = client.get("/admin/verification/citizenreport/").content.decode()
    assert "Sahyatri Travels" in queue and "I was not there." in queue
    client.post(
        "/admin/verification/citizenreport/",
        {"action": "suspend_organisations", "_selected_action": [report.pk]},
    )
    organisation.refresh_from_db()
    assert organisation.state == organisation.State.SUSPENDED
    decision = OrganisationDecision.objects.get(organisation=organisation)
    assert decision.action == OrganisationDecision.Action.SUSPEND
    assert "Asha" not in decision.reason and "9876543210" not in decision.reason


def test_the_report_queue_counts_each_organisations_reports_of_the_last_30_days(
    client, registry_admin, organisation, other_organisation
):
    now = timezone.now()
    for organisation_of, days_ago in [
        (organisation, 1),
        (organisation, 29),
        (organisation, 31),
        (other_organisation, 2),
    ]:
        started = now - timedelta(days=days_ago)
        check = make_verification(organisation_of, started=started)
        CitizenReport.objects.create(
            verification=check, organisation=organisation_of, created_at=started
        )

    client.force_login(registry_admin)
    queue = client.get("/admin/verification/citizenreport/").content.decode()
    # Oldest first; the count is the organisation's, whichever of its reports the row is.
    counts = re.findall(r'<td class="field-reports_in_30_days">(\d+)</td>', queue)
    assert counts == ["2", "2", "1", "2"]


def test_a_citizen_cannot_report_a_check_of_someone_else(organisation, bob, asha, sms_outbox):
    ravi = make_beneficiary(name="Ravi Shah", mobile="9825000004")
    check = operator_start(organisation, bob, full_name="Ravi Shah", mobile="9825000004")
    assert check.beneficiary == ravi
    citizen = signed_in_citizen(sms_outbox)
    assert citizen.post(f"/my-status/report/{check.public_id}/").status_code == 404
    assert not CitizenReport.objects.exists()


# Decline


@pytest.mark.parametrize("name", ["Asha Patel", "Nobody Known"])
def test_declining_on_the_shared_screen_ends_the_verification_as_declined(
    client, bob, asha, sms_outbox, name
):
    client.force_login(bob)
    consent = client.post("/verify/", {**ASHA, "full_name": name})["Location"]
    response = client.post(consent + "decline/", follow=True)
    assert "The customer declined. Nothing was shared." in response.content.decode()
    assert Verification.objects.get().state == Verification.State.DECLINED


def test_the_api_answers_a_declined_transaction_with_its_own_error(organisation, asha, sms_outbox):
    api = ApiClient(issue_key(organisation))
    txn = api.generate("Asha Patel", "9876543210").json()["txnId"]
    services.decline_verification(Verification.objects.get(public_id=txn))
    response = api.confirm(txn, otp_from(sms_outbox[0]))
    assert response.status_code == 409
    assert response.json()["errorCode"] == "TXN0003"


# The receipt SMS


def test_a_shared_result_sends_the_citizen_one_receipt_in_their_language(
    client, bob, asha, sms_outbox
):
    client.force_login(bob)
    consent = client.post("/verify/", {**ASHA, "language": "gu"})["Location"]
    client.post(consent, {"otp": otp_from(sms_outbox[0])})
    otp_sms, receipt = sms_outbox
    assert receipt.to == "9876543210"
    assert "Sahyatri Travels" in receipt.body
    assert "http://localhost:8000/my-status/" in receipt.body
    assert "રસીકરણ" in receipt.body  # Gujarati, as the customer chose


def test_a_failed_verification_sends_no_receipt(organisation, bob, asha, sms_outbox, settings):
    settings.KYVS_OTP_MAX_ATTEMPTS = 1
    verification = operator_start(organisation, bob)
    services.confirm_verification(verification, "000000")
    assert len(sms_outbox) == 1


def test_the_receipt_can_be_turned_off(organisation, bob, asha, sms_outbox, settings):
    settings.KYVS_RECEIPT_SMS = False
    verification = operator_start(organisation, bob)
    assert services.confirm_verification(verification, otp_from(sms_outbox[0])).ok
    assert len(sms_outbox) == 1


# The customer's language


@pytest.mark.parametrize(("language", "word"), [("gu", "માન્ય"), ("hi", "मान्य"), ("en", "Valid")])
def test_the_first_sms_and_the_customers_screen_follow_the_customers_language(
    client, bob, asha, sms_outbox, language, word
):
    client.force_login(bob)
    consent = client.post("/verify/", {**ASHA, "language": language})["Location"]
    [message] = sms_outbox
    assert word in message.body
    page = client.get(consent).content.decode()
    assert f'<html lang="{language}">' in page


# Approve on my own phone


def _link(message) -> str:
    return re.search(r"http://localhost:8000(/c/[A-Za-z0-9_\-]+/[A-Za-z0-9_\-]+)", message.body)[1]


def test_the_otp_sms_of_the_hosted_page_carries_a_one_time_link(client, bob, asha, sms_outbox):
    client.force_login(bob)
    client.post("/verify/", ASHA)
    token = _link(sms_outbox[0]).rsplit("/", 1)[1]
    assert len(token) >= 22  # 128 bits in URL-safe base64


def test_the_approve_link_names_its_verification_by_public_id_beside_the_token(
    client, bob, asha, sms_outbox
):
    client.force_login(bob)
    client.post("/verify/", ASHA)
    _c, public_id, token = _link(sms_outbox[0]).strip("/").split("/")
    assert CompactUuidConverter().to_python(public_id) == Verification.objects.get().public_id
    # Each part fits a DLT template's variable (providers/sms_names.py).
    assert len(public_id) <= 30 and len(token) <= 30
    assert services.verification_for_link(Verification.objects.get().public_id, token)


def test_a_valid_token_with_another_verifications_public_id_finds_nothing(
    client, bob, asha, sms_outbox
):
    client.force_login(bob)
    client.post("/verify/", ASHA)
    _c, _ashas_id, ashas_token = _link(sms_outbox[0]).strip("/").split("/")
    make_beneficiary(name="Ravi Shah", mobile="9825000004")
    client.post("/verify/", {**ASHA, "full_name": "Ravi Shah", "mobile_number": "9825000004"})
    _c, ravis_id, _ravis_token = _link(sms_outbox[1]).strip("/").split("/")
    tampered = f"/c/{ravis_id}/{ashas_token}"

    assert Client().get(tampered).status_code == 410
    assert Client().post(tampered, {"answer": "approve"}).status_code == 410
    assert Client().post(tampered, {"answer": "decline"}).status_code == 410
    ravis = CompactUuidConverter().to_python(ravis_id)
    assert services.verification_for_link(ravis, ashas_token) is None
    assert not services.approve_by_link(ravis, ashas_token).ok
    assert set(Verification.objects.values_list("state", flat=True)) == {"otp_sent"}


def test_a_link_of_the_earlier_shape_says_it_no_longer_works_and_the_code_still_does(
    client, bob, asha, sms_outbox
):
    client.force_login(bob)
    consent = client.post("/verify/", ASHA)["Location"]
    # Sent before links carried the public id: /c/<token>, the same token and digest.
    token = _link(sms_outbox[0]).rsplit("/", 1)[1]
    phone = Client()
    page = phone.get(f"/c/{token}")
    assert page.status_code == 410
    assert "This link no longer works" in page.content.decode()
    assert phone.post(f"/c/{token}", {"answer": "approve"}).status_code == 410
    assert Verification.objects.get().state == Verification.State.OTP_SENT
    client.post(consent, {"otp": otp_from(sms_outbox[0])})
    assert Verification.objects.get().state == Verification.State.VERIFIED


def test_approving_on_the_phone_verifies_and_the_shared_screen_shows_the_result_once(
    client, bob, asha, sms_outbox
):
    client.force_login(bob)
    consent = client.post("/verify/", ASHA)["Location"]
    phone = Client()
    link = _link(sms_outbox[0])
    assert "Sahyatri Travels" in phone.get(link).content.decode()
    poll = poll_address(client, consent)
    assert json.loads(client.get(poll).content) == {"waiting": True, "next": ""}
    assert "You agreed" in phone.post(link, {"answer": "approve"}).content.decode()
    state = json.loads(client.get(poll).content)
    assert state == {"waiting": False, "next": consent + "result/"}
    assert "Not vaccinated" in client.get(consent + "result/").content.decode()
    assert client.get(consent + "result/").status_code == 410


def test_the_approve_link_works_once(client, bob, asha, sms_outbox):
    client.force_login(bob)
    client.post("/verify/", ASHA)
    link = _link(sms_outbox[0])
    Client().post(link, {"answer": "approve"})
    assert Client().post(link, {"answer": "approve"}).status_code == 410
    assert Client().get(link).status_code == 410


def test_the_approve_link_expires_with_the_code(client, bob, asha, sms_outbox, settings):
    moment = timezone.now()
    with time_machine.travel(moment, tick=False):
        client.force_login(bob)
        client.post("/verify/", ASHA)
        link = _link(sms_outbox[0])
    later = moment + timedelta(seconds=settings.KYVS_OTP_TTL_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        Client().post(link, {"answer": "approve"})
    assert Verification.objects.get().state == Verification.State.OTP_SENT


def test_an_approve_link_approves_only_its_own_verification(client, bob, asha, sms_outbox):
    client.force_login(bob)
    client.post("/verify/", ASHA)
    first_link = _link(sms_outbox[0])
    ravi = make_beneficiary(name="Ravi Shah", mobile="9825000004")
    client.post("/verify/", {**ASHA, "full_name": "Ravi Shah", "mobile_number": "9825000004"})
    Client().post(first_link, {"answer": "approve"})
    states = dict(Verification.objects.values_list("beneficiary", "state"))
    assert states == {asha.pk: "verified", ravi.pk: "otp_sent"}


def test_a_resend_voids_the_earlier_approve_link(client, bob, asha, sms_outbox, settings):
    moment = timezone.now()
    with time_machine.travel(moment, tick=False) as clock:
        client.force_login(bob)
        consent = client.post("/verify/", ASHA)["Location"]
        first_link = _link(sms_outbox[0])
        clock.shift(settings.KYVS_OTP_RESEND_AFTER_SECONDS + 1)
        client.post(consent + "resend/")
        assert Client().post(first_link, {"answer": "approve"}).status_code == 410
        assert Client().post(_link(sms_outbox[1]), {"answer": "approve"}).status_code == 200


def test_declining_on_the_phone_ends_the_verification_as_declined(client, bob, asha, sms_outbox):
    client.force_login(bob)
    consent = client.post("/verify/", ASHA)["Location"]
    poll = poll_address(client, consent)
    response = Client().post(_link(sms_outbox[0]), {"answer": "decline"})
    assert "You declined" in response.content.decode()
    assert Verification.objects.get().state == Verification.State.DECLINED
    state = json.loads(client.get(poll).content)
    assert state == {"waiting": False, "next": consent}


def test_the_api_channel_gets_no_approve_link(organisation, asha, sms_outbox):
    ApiClient(issue_key(organisation)).generate("Asha Patel", "9876543210")
    assert "/c/" not in sms_outbox[0].body


def test_another_organisation_can_neither_see_the_screen_nor_make_itspoll_address(
    client, bob, charlie, asha, sms_outbox
):
    client.force_login(bob)
    consent = client.post("/verify/", ASHA)["Location"]
    poll = poll_address(client, consent)
    other = Client()
    other.force_login(charlie)
    assert other.get(consent).status_code == 404
    token = poll.rstrip("/").rsplit("/", 1)[1]
    forged = poll.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert other.get(forged).status_code == 404
    # A screen drawn before polls carried a token is sent to its consent page, whatever
    # the id: the answer tells nothing about the verification.
    stranger = Client()
    old = stranger.get(consent + "state/").json()
    made_up = stranger.get("/verify/00000000-0000-4000-8000-000000000000/state/").json()
    assert old == {"waiting": False, "next": consent}
    assert made_up["waiting"] is False and "00000000-0000-4000-8000" in made_up["next"]


# The privacy notice


@pytest.mark.parametrize("language", ["en", "gu", "hi"])
def test_the_privacy_notice_names_the_fiduciary_the_officer_and_the_board(
    client, settings, language
):
    settings.KYVS_DATA_FIDUCIARY_NAME = "Registry of Vaccinations, Gujarat"
    settings.KYVS_GRIEVANCE_OFFICER_NAME = "Meena Joshi"
    settings.KYVS_GRIEVANCE_OFFICER_EMAIL = "grievance@kyvs.example.in"
    settings.KYVS_GRIEVANCE_OFFICER_PHONE = "+91 79 2325 0000"
    settings.KYVS_RETENTION_DAYS = 180
    client.cookies["django_language"] = language
    page = client.get("/privacy/").content.decode()
    for fact in ("Registry of Vaccinations, Gujarat", "Meena Joshi", "grievance@kyvs", "180"):
        assert fact in page
    assert f'lang="{language}"' in page


def test_every_page_links_the_privacy_notice(client, bob, asha, sms_outbox):
    assert 'href="/privacy/"' in client.get("/").content.decode()
    assert 'href="/privacy/"' in client.get("/my-status/").content.decode()
    client.force_login(bob)
    consent = client.post("/verify/", ASHA)["Location"]
    assert 'href="/privacy/"' in client.get(consent).content.decode()
