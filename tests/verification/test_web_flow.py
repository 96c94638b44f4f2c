import re
from datetime import date

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import otp_from, poll_address
from tests.factories import add_dose, make_beneficiary, make_member, make_organisation
from verification.models import Verification

pytestmark = pytest.mark.django_db

START = "/verify/"


def post_start(client, name="Asha Patel", mobile="98765 43210", purpose="travel"):
    return client.post(START, {"full_name": name, "mobile_number": mobile, "purpose": purpose})


def started(client, **kwargs) -> Verification:
    response = post_start(client, **kwargs)
    assert response.status_code == 302, response.content.decode()
    return Verification.objects.get(public_id=response["Location"].split("/")[2])


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(START)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_user_of_no_organisation_is_refused(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("stray", password="x"))
    assert client.get(START).status_code == 403


def test_the_form_offers_only_the_organisations_purposes(client, charlie):
    client.force_login(charlie)
    page = client.get(START).content.decode()
    assert 'value="travel"' in page
    assert 'value="employment"' not in page


@pytest.mark.parametrize(
    ("name", "mobile", "message"),
    [
        ("", "9876543210", "Enter the customer&#x27;s full name."),
        ("   ...  ", "9876543210", "Enter the customer&#x27;s full name."),
        ("x" * 101, "9876543210", "A name can be at most 100 characters."),
        ("Asha Patel", "", "Enter the customer&#x27;s registered mobile number."),
        ("Asha Patel", "12345", "Enter a 10-digit Indian mobile number"),
        ("Asha Patel", "5876543210", "Enter a 10-digit Indian mobile number"),
    ],
)
def test_bad_input_gets_a_clear_message_and_keeps_what_was_typed(
    client, bob, sms_outbox, name, mobile, message
):
    client.force_login(bob)
    response = post_start(client, name=name, mobile=mobile)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    if mobile:
        assert f'value="{mobile}"' in page
    assert not Verification.objects.exists()
    assert sms_outbox == []


def test_a_purpose_not_offered_is_refused(client, charlie, asha, sms_outbox):
    client.force_login(charlie)
    response = post_start(client, purpose="employment")
    assert response.status_code == 200
    assert not Verification.objects.exists()


def test_starting_leads_to_the_customers_screen(client, bob, asha, sms_outbox):
    client.force_login(bob)
    verification = started(client, mobile="+91 98765-43210")
    page = client.get(f"/verify/{verification.public_id}/").content.decode()
    assert "Sahyatri Travels" in page
    assert "Travel" in page
    assert "Vaccination status" in page
    assert "Vaccination events" in page
    assert "Demographics" not in page
    assert "••••••3210" in page
    assert 'autocomplete="one-time-code"' in page
    assert 'inputmode="numeric"' in page
    assert "Resend OTP" in page
    assert "Cancel" in page
    assert "show your vaccination certificate instead" in page
    assert "9876543210" not in page
    assert "Asha" not in page


def _comparable(page: str) -> str:
    page = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "ID", page)
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", page)
    page = re.sub(r'data-poll-url="[^"]+"', "POLL", page)  # names its own verification
    return re.sub(r"\d\d:\d\d", "TIME", page)


@pytest.mark.parametrize("case", ["no match", "two matches"])
def test_no_match_and_two_matches_answer_exactly_like_a_match(client, bob, sms_outbox, case):
    client.force_login(bob)
    make_beneficiary(name="Asha Patel", mobile="9876543210")
    matched = post_start(client)
    matched_page = client.get(matched["Location"]).content.decode()
    sms_outbox.clear()

    if case == "two matches":
        # Same last four digits as the match, so the screens can be compared whole.
        make_beneficiary(name="Ravi Shah", mobile="9123453210")
        make_beneficiary(name="RAVI SHAH", mobile="9123453210")
        other = post_start(client, name="Ravi Shah", mobile="9123453210")
    else:
        other = post_start(client, name="Nobody Here", mobile="9123453210")
    assert other.status_code == matched.status_code == 302
    other_page = client.get(other["Location"]).content.decode()
    assert _comparable(other_page) == _comparable(matched_page)
    assert sms_outbox == []


def test_a_wrong_code_shows_a_message_with_tries_left(client, bob, asha, sms_outbox):
    client.force_login(bob)
    verification = started(client)
    wrong = "111111" if otp_from(sms_outbox[0]) != "111111" else "222222"
    response = client.post(f"/verify/{verification.public_id}/", {"otp": wrong})
    assert response.status_code == 422
    page = response.content.decode()
    assert "That code is not right." in page
    assert "4 tries left." in page


def test_a_malformed_code_is_refused_without_using_a_try(client, bob, asha, sms_outbox):
    client.force_login(bob)
    verification = started(client)
    response = client.post(f"/verify/{verification.public_id}/", {"otp": "12ab"})
    assert response.status_code == 200
    assert "The code has 6 digits." in response.content.decode()
    assert Verification.objects.get(pk=verification.pk).attempts == 0


def test_after_the_last_wrong_code_the_screen_says_it_failed(
    client, bob, asha, sms_outbox, settings
):
    settings.KYVS_OTP_MAX_ATTEMPTS = 1
    client.force_login(bob)
    verification = started(client)
    wrong = "111111" if otp_from(sms_outbox[0]) != "111111" else "222222"
    response = client.post(f"/verify/{verification.public_id}/", {"otp": wrong}, follow=True)
    page = response.content.decode()
    assert "Too many wrong codes" in page
    assert "This verification is closed" in page


def full_verification(client, operator, sms_outbox):
    person = make_beneficiary(name="Ravi Shah", mobile="9123456780", birth_year=1979)
    add_dose(person, "Covaxin", 1, date(2021, 5, 1))
    add_dose(person, "Covaxin", 2, date(2021, 6, 1))
    client.force_login(operator)
    verification = started(client, name="ravi shah", mobile="9123456780")
    response = client.post(f"/verify/{verification.public_id}/", {"otp": otp_from(sms_outbox[-1])})
    assert response.status_code == 302
    return verification, response["Location"]


def test_the_right_code_shows_the_result_once_and_not_cached(client, bob, sms_outbox):
    verification, result_url = full_verification(client, bob, sms_outbox)
    assert result_url == f"/verify/{verification.public_id}/result/"
    response = client.get(result_url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "Fully vaccinated" in page
    assert "Covaxin" in page
    assert str(verification.public_id) in page
    assert "1979" not in page  # no demographics scope

    again = client.get(result_url)
    assert again.status_code == 410
    assert "Fully vaccinated" not in again.content.decode()
    assert "Covaxin" not in again.content.decode()


def test_going_back_to_the_consent_screen_after_the_result_shows_nothing(client, bob, sms_outbox):
    verification, result_url = full_verification(client, bob, sms_outbox)
    client.get(result_url)
    page = client.get(f"/verify/{verification.public_id}/").content.decode()
    assert "This verification is closed" in page
    assert "Covaxin" not in page


def test_the_pages_of_a_verification_are_not_cached(client, bob, asha, sms_outbox):
    client.force_login(bob)
    verification = started(client)
    for url in [START, f"/verify/{verification.public_id}/"]:
        assert "no-store" in client.get(url)["Cache-Control"]


def test_another_organisation_gets_404_for_every_page_of_a_verification(
    client, bob, charlie, asha, sms_outbox
):
    client.force_login(bob)
    verification = started(client)
    code = otp_from(sms_outbox[0])
    client.force_login(charlie)
    base = f"/verify/{verification.public_id}/"
    assert client.get(base).status_code == 404
    assert client.post(base, {"otp": code}).status_code == 404
    assert client.post(base + "resend/").status_code == 404
    assert client.post(base + "cancel/").status_code == 404
    assert client.get(base + "result/").status_code == 404
    assert Verification.objects.get(pk=verification.pk).state == "otp_sent"


def test_a_teammate_cannot_pick_up_a_result_from_another_screen(client, bob, alice, sms_outbox):
    verification, result_url = full_verification(client, bob, sms_outbox)
    client.force_login(alice)
    response = client.get(result_url)
    assert response.status_code == 410
    assert "Fully vaccinated" not in response.content.decode()


def test_cancel_returns_to_an_empty_form(client, bob, asha, sms_outbox):
    client.force_login(bob)
    verification = started(client)
    response = client.post(f"/verify/{verification.public_id}/cancel/")
    assert response.status_code == 302
    assert response["Location"] == reverse("verification:start")
    assert Verification.objects.get(pk=verification.pk).state == "cancelled"


def test_resend_too_early_explains_the_wait(client, bob, asha, sms_outbox):
    client.force_login(bob)
    verification = started(client)
    response = client.post(f"/verify/{verification.public_id}/resend/", follow=True)
    assert "A new code can be sent in" in response.content.decode()
    assert len(sms_outbox) == 1


def test_resend_and_cancel_need_post(client, bob, asha, sms_outbox):
    client.force_login(bob)
    verification = started(client)
    assert client.get(f"/verify/{verification.public_id}/resend/").status_code == 405
    assert client.get(f"/verify/{verification.public_id}/cancel/").status_code == 405


@pytest.mark.parametrize("state", ["pending", "suspended"])
def test_an_organisation_that_is_not_approved_sees_why_and_cannot_start(
    client, asha, sms_outbox, state
):
    organisation = make_organisation(state=state)
    client.force_login(make_member(organisation))
    page = client.get(START).content.decode()
    assert "cannot verify customers at present" in page
    assert 'name="full_name"' not in page
    response = post_start(client)
    assert response.status_code == 200
    assert not Verification.objects.exists()
    assert sms_outbox == []


def test_the_operators_language_comes_back_after_the_customer_changed_it(
    client, bob, asha, sms_outbox
):
    client.force_login(bob)
    client.post("/i18n/setlang/", {"language": "en", "next": START})
    verification = started(client)
    # The customer reads the consent screen in Gujarati...
    client.post("/i18n/setlang/", {"language": "gu", "next": f"/verify/{verification.public_id}/"})
    consent = client.get(f"/verify/{verification.public_id}/")
    assert consent.headers["Content-Language"] == "gu"
    client.post(f"/verify/{verification.public_id}/", {"otp": otp_from(sms_outbox[0])})
    # ...and the next customer's form is in the operator's English again, and stays so.
    form = client.get(START)
    assert form.headers["Content-Language"] == "en"
    assert 'lang="en"' in form.content.decode()
    assert client.get(START).headers["Content-Language"] == "en"


def test_starting_a_verification_and_coming_back_to_the_form_write_no_session(
    client, bob, asha, sms_outbox
):
    """The operator's language waits in a cookie: a start and the next empty form leave
    the operator's session row as it was (one COMMIT each saved on a busy counter)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(bob)
    client.get(START)  # the idle timeout's first stamp
    for request in (lambda: post_start(client), lambda: client.get(START)):
        with CaptureQueriesContext(connection) as queries:
            request()
        writes = [
            q["sql"]
            for q in queries
            if "django_session" in q["sql"] and not q["sql"].lstrip().startswith("SELECT")
        ]
        assert writes == []


def test_the_operators_language_cookie_is_http_only_lax_and_lasts_an_idle_session(
    client, bob, asha, sms_outbox, settings
):
    from verification.views import OPERATOR_LANGUAGE_COOKIE

    client.force_login(bob)
    cookie = post_start(client).cookies[OPERATOR_LANGUAGE_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) is settings.SESSION_COOKIE_SECURE
    assert cookie["max-age"] == settings.KYVS_OPERATOR_IDLE_MINUTES * 60


def test_a_forged_operator_language_is_ignored_and_cleared(client, bob):
    from verification.views import OPERATOR_LANGUAGE_COOKIE

    client.force_login(bob)
    client.post("/i18n/setlang/", {"language": "hi", "next": START})
    client.cookies[OPERATOR_LANGUAGE_COOKIE] = "xx-evil"
    response = client.get(START)
    assert response.headers["Content-Language"] == "hi"
    assert response.cookies[OPERATOR_LANGUAGE_COOKIE].value == ""


def test_the_screens_poll_needs_no_session_and_reads_only_the_state(
    client, bob, asha, sms_outbox, django_assert_num_queries
):
    client.force_login(bob)
    verification = started(client)
    poll = poll_address(client, f"/verify/{verification.public_id}/")
    stranger = Client()  # no cookie at all: the token is what names the verification
    with django_assert_num_queries(1):
        response = stranger.get(poll)
    assert response.json() == {"waiting": True, "next": ""}
    assert response.cookies == {}
    assert "no-store" in response["Cache-Control"]


def test_a_poll_token_older_than_an_idle_session_sends_the_screen_to_its_page(
    client, bob, asha, sms_outbox, settings
):
    moment = timezone.now()
    with time_machine.travel(moment, tick=False) as clock:
        client.force_login(bob)
        verification = started(client)
        consent = f"/verify/{verification.public_id}/"
        poll = poll_address(client, consent)
        clock.shift(settings.KYVS_OPERATOR_IDLE_MINUTES * 60 - 1)
        assert Client().get(poll).json() == {"waiting": True, "next": ""}
        clock.shift(2)
        assert Client().get(poll).json() == {"waiting": False, "next": consent}


def test_a_poll_token_made_elsewhere_is_a_404(client, bob, asha, sms_outbox):
    from django.core import signing

    client.force_login(bob)
    verification = started(client)
    token = signing.dumps(str(verification.public_id), salt="another purpose")
    assert Client().get(f"/verify/state/{token}/").status_code == 404
    assert Client().get("/verify/state/not-a-token/").status_code == 404


def test_polling_does_not_keep_an_idle_operator_signed_in(client, bob, asha, sms_outbox, settings):
    moment = timezone.now()
    with time_machine.travel(moment, tick=False) as clock:
        client.force_login(bob)
        verification = started(client)
        consent = f"/verify/{verification.public_id}/"
        poll = poll_address(client, consent)
        for _ in range(settings.KYVS_OPERATOR_IDLE_MINUTES):
            clock.shift(60)
            client.get(poll)
        clock.shift(1)
        assert client.get(consent).status_code == 302  # to the sign-in page


def test_an_operator_who_switches_language_on_the_form_keeps_it(client, bob):
    client.force_login(bob)
    client.post("/i18n/setlang/", {"language": "hi", "next": START})
    assert client.get(START).headers["Content-Language"] == "hi"
