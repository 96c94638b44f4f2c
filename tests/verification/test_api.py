"""The JSON API, played as the community KYC-VS clients play it."""

import json
from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from providers.models import ApiKey, Organisation
from tests.conftest import otp_from
from tests.factories import add_dose, make_beneficiary, make_organisation
from tests.verification.api_client import ApiClient, issue_key, sha256
from verification import services
from verification.models import Verification
from verification.refusals import Refusal

MOBILE = "9876543210"
NAME = "Asha Patel"
D = date(2021, 5, 1)


@pytest.fixture
def api(organisation):
    """Alice's organisation's booking system, with every scope the organisation holds."""
    return ApiClient(issue_key(organisation))


@pytest.fixture
def other_api(other_organisation):
    return ApiClient(issue_key(other_organisation))


def verify_via_api(api: ApiClient, sms_outbox, name=NAME, mobile=MOBILE):
    """generateOTP → sha256 of the OTP from the SMS → confirmOTP → Bearer status."""
    started = api.generate(name, mobile)
    assert started.status_code == 200, started.content
    txn_id = started.json()["txnId"]
    confirmed = api.confirm(txn_id, sha256(otp_from(sms_outbox[-1])))
    assert confirmed.status_code == 200, confirmed.content
    token = confirmed.json()["token"]
    return txn_id, token, api.status(token)


VACCINE_CASES = [
    pytest.param([], 0, id="no doses"),
    pytest.param([("Covishield", 1)], 1, id="Covishield 1 of 2"),
    pytest.param([("Covishield", 1), ("Covishield", 2)], 2, id="Covishield 2 of 2"),
    pytest.param([("Covaxin", 1)], 1, id="Covaxin 1 of 2"),
    pytest.param([("Covaxin", 1), ("Covaxin", 2)], 2, id="Covaxin 2 of 2"),
    pytest.param([("Sputnik V", 1)], 1, id="Sputnik V 1 of 2"),
    pytest.param([("Sputnik V", 1), ("Sputnik V", 2)], 2, id="Sputnik V 2 of 2"),
    pytest.param([("Corbevax", 1)], 1, id="Corbevax 1 of 2"),
    pytest.param([("Corbevax", 1), ("Corbevax", 2)], 2, id="Corbevax 2 of 2"),
    pytest.param([("Covovax", 1)], 1, id="Covovax 1 of 2"),
    pytest.param([("Covovax", 1), ("Covovax", 2)], 2, id="Covovax 2 of 2"),
    pytest.param([("ZyCoV-D", 1), ("ZyCoV-D", 2)], 1, id="ZyCoV-D 2 of 3"),
    pytest.param([("ZyCoV-D", 1), ("ZyCoV-D", 2), ("ZyCoV-D", 3)], 2, id="ZyCoV-D 3 of 3"),
    pytest.param([("Sputnik Light", 1)], 2, id="Sputnik Light 1 of 1"),
    pytest.param([("Janssen", 1)], 2, id="Janssen 1 of 1"),
    pytest.param([("Covishield", 1), ("Covaxin", 2)], 2, id="mixed Covishield then Covaxin"),
    pytest.param([("Covishield", 1), ("Covishield", 2), ("precaution", 1)], 2, id="booster"),
    pytest.param([("Covishield", 1), ("precaution", 1)], 1, id="booster after one dose"),
    pytest.param([("precaution", 1)], 0, id="a precaution dose alone"),
]


@pytest.mark.parametrize(("doses", "expected"), VACCINE_CASES)
def test_the_community_clients_sequence_gets_the_right_status(
    api, organisation, sms_outbox, doses, expected
):
    person = make_beneficiary(name=NAME, mobile=MOBILE)
    for i, (vaccine, number) in enumerate(doses):
        if vaccine == "precaution":
            add_dose(person, "Covishield", number, D + timedelta(days=300), kind="precaution")
        else:
            add_dose(person, vaccine, number, D + timedelta(days=60 * i))

    txn_id, _token, response = verify_via_api(api, sms_outbox)

    assert response.status_code == 200
    body = response.json()
    assert body["vaccination_status"] == expected
    assert body["verification_id"] == txn_id
    assert (
        body["status_text"]
        == ["Not vaccinated", "Partially vaccinated", "Fully vaccinated"][expected]
    )
    assert body["receipt"].count(".") == 2
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    verification = Verification.objects.get(public_id=txn_id)
    assert verification.channel == Verification.Channel.API
    assert verification.state == Verification.State.VERIFIED


def test_a_plain_six_digit_otp_is_accepted_too(api, asha, sms_outbox):
    txn_id = api.generate(NAME, MOBILE).json()["txnId"]

    response = api.confirm(txn_id, otp_from(sms_outbox[-1]))

    assert response.status_code == 200
    assert api.status(response.json()["token"]).json()["vaccination_status"] == 0


def test_the_api_calls_the_same_start_function_as_the_web(api, asha, sms_outbox, monkeypatch):
    calls = []
    real = services.start_verification

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "start_verification", spy)
    api.generate(NAME, "+91 98765-43210", purpose="service")

    (call,) = calls
    assert call["channel"] == Verification.Channel.API
    assert call["api_key"].organisation == call["organisation"]
    assert call["purpose"] == "service"
    assert call["mobile"] == MOBILE


def test_the_purpose_defaults_to_the_organisations_first(api, asha, sms_outbox):
    txn_id = api.generate(NAME, MOBILE).json()["txnId"]

    assert Verification.objects.get(public_id=txn_id).purpose == "travel"


# --- no match answers exactly like a match --------------------------------------------------


def test_no_match_answers_exactly_like_a_match_and_sends_no_sms(api, asha, sms_outbox):
    matched = api.generate(NAME, MOBILE)
    assert len(sms_outbox) == 1

    unmatched = api.generate("Somebody Else", MOBILE)

    assert len(sms_outbox) == 1
    assert unmatched.status_code == matched.status_code == 200
    assert unmatched.json().keys() == matched.json().keys() == {"txnId"}
    assert unmatched["Content-Type"] == matched["Content-Type"]
    assert unmatched.json()["txnId"] != matched.json()["txnId"]


def test_every_otp_for_no_match_fails_exactly_like_a_wrong_otp_for_a_match(api, asha, sms_outbox):
    matched = api.generate(NAME, MOBILE).json()["txnId"]
    unmatched = api.generate("Somebody Else", "9123456780").json()["txnId"]
    wrong = "000000" if otp_from(sms_outbox[-1]) != "000000" else "111111"

    for_match = api.confirm(matched, sha256(wrong))
    for_no_match = api.confirm(unmatched, sha256(otp_from(sms_outbox[-1])))

    assert for_match.status_code == for_no_match.status_code == 401
    assert for_match.json() == for_no_match.json()
    assert for_match.json()["errorCode"] == "USRAUT0014"


def test_two_people_of_the_same_name_on_one_number_answer_like_no_match(api, sms_outbox):
    make_beneficiary(name=NAME, mobile=MOBILE)
    make_beneficiary(name=NAME, mobile=MOBILE)

    response = api.generate(NAME, MOBILE)

    assert response.status_code == 200
    assert response.json().keys() == {"txnId"}
    assert sms_outbox == []


# --- bad input: never a 500, never HTML ----------------------------------------------------


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body.keys() == {"errorCode", "error"}
    assert body["errorCode"] == code
    assert body["error"]


@pytest.mark.parametrize(
    "raw",
    ["{not json", "", "[]", '"a string"', "null", "1", "[" * 4000 + "]" * 4000, "\xff\xfe"],
    ids=["broken", "empty", "array", "string", "null", "number", "deep", "not utf-8"],
)
@pytest.mark.parametrize("endpoint", ["generateOTP", "confirmOTP", "resendOTP"])
def test_a_body_that_is_not_a_json_object_is_refused(api, asha, sms_outbox, endpoint, raw):
    response = api.post(endpoint, raw=raw.encode("latin-1") if raw == "\xff\xfe" else raw)

    assert_error(response, 400, "APPIN0001")
    assert sms_outbox == []


@pytest.mark.parametrize(
    "body",
    [
        {"full_name": NAME, "mobile_number": 9876543210},
        {"full_name": ["Asha"], "mobile_number": MOBILE},
        {"full_name": NAME},
        {"mobile_number": MOBILE},
        {"full_name": NAME, "mobile_number": MOBILE, "purpose": 1},
        {"full_name": NAME, "mobile_number": MOBILE, "purpose": "sightseeing"},
        {"full_name": NAME, "mobile_number": "12345"},
        {"full_name": "x" * 101, "mobile_number": MOBILE},
        {"full_name": "...", "mobile_number": MOBILE},
        {"full_name": NAME, "mobile_number": "9" * 30},
    ],
    ids=[
        "mobile as a number",
        "name as a list",
        "no mobile",
        "no name",
        "purpose as a number",
        "unknown purpose",
        "short mobile",
        "long name",
        "name of punctuation",
        "long mobile",
    ],
)
def test_generate_otp_refuses_wrong_types_and_malformed_fields(api, asha, sms_outbox, body):
    response = api.post("generateOTP", body)

    assert_error(response, 400, "APPIN0002")
    assert sms_outbox == []
    assert not Verification.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"txnId": "not-a-uuid", "otp": "123456"},
        {"txnId": 5, "otp": "123456"},
        {"otp": "123456"},
        {"txnId": "6b0b4b7e-2d5c-4b7e-9a57-0c4bde43a2a1"},
        {"txnId": "6b0b4b7e-2d5c-4b7e-9a57-0c4bde43a2a1", "otp": 123456},
        {"txnId": "6b0b4b7e-2d5c-4b7e-9a57-0c4bde43a2a1", "otp": "12345"},
        {"txnId": "6b0b4b7e-2d5c-4b7e-9a57-0c4bde43a2a1", "otp": "z" * 64},
    ],
    ids=[
        "txnId not a uuid",
        "txnId a number",
        "no txnId",
        "no otp",
        "otp a number",
        "five digits",
        "not hex",
    ],
)
def test_confirm_otp_refuses_missing_or_malformed_fields_with_400(api, body):
    assert_error(api.post("confirmOTP", body), 400, "APPIN0002")


def test_a_huge_body_is_refused_with_413_before_anything_happens(api, asha, sms_outbox):
    body = json.dumps({"full_name": NAME, "mobile_number": MOBILE, "padding": "x" * 9000})

    response = api.post("generateOTP", raw=body)

    assert_error(response, 413, "APPIN0003")
    assert sms_outbox == []


def test_a_body_just_under_the_cap_is_read(api, asha, sms_outbox):
    body = json.dumps({"full_name": NAME, "mobile_number": MOBILE, "padding": "x" * 8000})

    assert api.post("generateOTP", raw=body).status_code == 200


def test_a_wrong_method_answers_405_in_json_with_allow(api):
    response = api.client.get("/api/v3/vaccination/generateOTP", headers={"X-Api-Key": api.key})

    assert_error(response, 405, "APPIN0004")
    assert response["Allow"] == "POST"


def test_an_unknown_api_path_answers_json_404(api):
    assert_error(api.client.get("/api/v3/vaccination/certificate"), 404, "APPIN0005")


def test_the_api_needs_no_csrf_token(api, asha, sms_outbox):
    # ApiClient enforces CSRF checks like a browser would; the API is exempt.
    assert api.generate(NAME, MOBILE).status_code == 200


# --- keys and organisations -----------------------------------------------------------------


def test_a_request_without_a_key_is_refused(asha, sms_outbox):
    assert_error(ApiClient(None).generate(NAME, MOBILE), 401, "APIKEY0001")
    assert sms_outbox == []


def test_an_unknown_key_is_refused(organisation, asha, sms_outbox):
    raw = issue_key(organisation)
    forged = raw[:-4] + ("aaaa" if not raw.endswith("aaaa") else "bbbb")

    assert_error(ApiClient(forged).generate(NAME, MOBILE), 401, "APIKEY0002")
    assert sms_outbox == []


def test_a_revoked_key_is_refused_at_once_even_mid_verification(
    api, organisation, asha, sms_outbox
):
    txn_id = api.generate(NAME, MOBILE).json()["txnId"]
    ApiKey.objects.get(organisation=organisation).revoke()

    assert_error(api.confirm(txn_id, sha256(otp_from(sms_outbox[-1]))), 401, "APIKEY0002")
    assert_error(api.generate(NAME, MOBILE), 401, "APIKEY0002")
    assert len(sms_outbox) == 1


@pytest.mark.parametrize("state", ["suspended", "pending", "rejected"])
def test_a_key_of_an_organisation_that_is_not_approved_gets_403(
    api, organisation, asha, sms_outbox, state
):
    organisation.state = state
    organisation.save()

    assert_error(api.generate(NAME, MOBILE), 403, "APIKEY0003")
    assert sms_outbox == []


def test_suspending_an_organisation_stops_its_pending_confirmations_and_status(
    api, organisation, asha, sms_outbox
):
    txn_id, token, _ = verify_via_api(api, sms_outbox)
    organisation.state = Organisation.State.SUSPENDED
    organisation.save()

    assert_error(api.status(token), 403, "APIKEY0003")
    assert_error(api.confirm(txn_id, "123456"), 403, "APIKEY0003")


def test_the_key_records_when_it_was_last_used_at_most_once_a_minute(api, organisation, asha):
    key = ApiKey.objects.get(organisation=organisation)
    assert key.last_used_at is None
    with time_machine.travel(timezone.now(), tick=False) as clock:
        api.generate(NAME, MOBILE)
        first = ApiKey.objects.get(pk=key.pk).last_used_at
        assert first == timezone.now()
        clock.shift(30)
        api.generate(NAME, MOBILE)
        assert ApiKey.objects.get(pk=key.pk).last_used_at == first
        clock.shift(31)
        api.generate(NAME, MOBILE)
        assert ApiKey.objects.get(pk=key.pk).last_used_at == timezone.now()


# --- transactions -----------------------------------------------------------------------------


def test_an_unknown_txn_id_answers_404(api):
    response = api.confirm("6b0b4b7e-2d5c-4b7e-9a57-0c4bde43a2a1", sha256("123456"))

    assert_error(response, 404, "TXN0001")


def test_another_organisations_txn_id_answers_exactly_like_an_unknown_one(
    api, other_api, asha, sms_outbox
):
    theirs = other_api.generate(NAME, MOBILE).json()["txnId"]
    right_otp = sha256(otp_from(sms_outbox[-1]))

    stolen = api.confirm(theirs, right_otp)
    unknown = api.confirm("6b0b4b7e-2d5c-4b7e-9a57-0c4bde43a2a1", right_otp)
    resend = api.post("resendOTP", {"txnId": theirs})

    assert stolen.status_code == unknown.status_code == resend.status_code == 404
    assert stolen.json() == unknown.json() == resend.json()
    assert Verification.objects.get(public_id=theirs).attempts == 0


def test_a_txn_started_on_the_web_cannot_be_confirmed_through_the_api(
    api, organisation, bob, asha, sms_outbox
):
    verification = services.start_verification(
        organisation=organisation,
        operator=bob,
        full_name=NAME,
        mobile=MOBILE,
        purpose="travel",
    )

    response = api.confirm(str(verification.public_id), sha256(otp_from(sms_outbox[-1])))

    assert_error(response, 404, "TXN0001")


def test_a_wrong_otp_answers_401_and_the_last_attempt_stops_the_transaction(
    api, asha, sms_outbox, settings
):
    settings.KYVS_OTP_MAX_ATTEMPTS = 2
    txn_id = api.generate(NAME, MOBILE).json()["txnId"]
    right = otp_from(sms_outbox[-1])
    wrong = "000000" if right != "000000" else "111111"

    assert_error(api.confirm(txn_id, sha256(wrong)), 401, "USRAUT0014")
    assert_error(api.confirm(txn_id, sha256(wrong)), 401, "USRAUT0016")
    assert_error(api.confirm(txn_id, sha256(right)), 409, "TXN0002")


def test_an_expired_otp_answers_401_with_its_own_code(api, asha, sms_outbox, settings):
    txn_id = api.generate(NAME, MOBILE).json()["txnId"]
    otp = otp_from(sms_outbox[-1])

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.KYVS_OTP_TTL_SECONDS)):
        assert_error(api.confirm(txn_id, sha256(otp)), 401, "USRAUT0015")


def test_an_otp_works_once(api, asha, sms_outbox):
    txn_id, _token, _ = verify_via_api(api, sms_outbox)

    assert_error(api.confirm(txn_id, sha256(otp_from(sms_outbox[0]))), 409, "TXN0002")


def test_resend_waits_then_sends_a_new_code_that_replaces_the_old(api, asha, sms_outbox, settings):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        txn_id = api.generate(NAME, MOBILE).json()["txnId"]
        old = otp_from(sms_outbox[-1])

        too_soon = api.post("resendOTP", {"txnId": txn_id})
        assert_error(too_soon, 429, "RATE0003")
        assert int(too_soon["Retry-After"]) == settings.KYVS_OTP_RESEND_AFTER_SECONDS

        clock.shift(settings.KYVS_OTP_RESEND_AFTER_SECONDS)
        resent = api.post("resendOTP", {"txnId": txn_id})
        assert resent.status_code == 200
        assert resent.json() == {"txnId": txn_id}
        assert len(sms_outbox) == 2
        new = otp_from(sms_outbox[-1])
        if old != new:
            assert_error(api.confirm(txn_id, sha256(old)), 401, "USRAUT0014")
        assert api.confirm(txn_id, sha256(new)).status_code == 200


# --- refusals: one table of statuses ----------------------------------------------------------


def test_the_daily_quota_answers_429_with_retry_after(api, organisation, asha, sms_outbox):
    organisation.daily_quota = 1
    organisation.save()
    api.generate(NAME, MOBILE)

    response = api.generate(NAME, MOBILE)

    assert_error(response, 429, "RATE0002")
    assert 0 < int(response["Retry-After"]) <= 86400


def test_a_rate_limit_refusal_answers_429_with_its_retry_after(api, monkeypatch):
    def refuse(**kwargs):
        raise services.VerificationRefused("rate_limited", "Too many.", retry_after=42)

    monkeypatch.setattr(services, "start_verification", refuse)

    response = api.generate(NAME, MOBILE)

    assert_error(response, 429, "RATE0001")
    assert response["Retry-After"] == "42"


@pytest.mark.parametrize("refusal", list(Refusal))
def test_every_refusal_answers_as_an_api_error_in_the_refusals_own_words(
    api, monkeypatch, refusal
):
    def refuse(**kwargs):
        raise services.VerificationRefused(refusal, "Not today.")

    monkeypatch.setattr(services, "start_verification", refuse)

    response = api.generate(NAME, MOBILE)

    assert_error(response, refusal.http_status, refusal.api_error.code)
    assert response.json()["error"] == "Not today."


def test_a_refusal_no_channel_could_answer_cannot_be_raised():
    with pytest.raises(ValueError):
        services.VerificationRefused("something_new", "Not today.")


def test_a_purpose_the_organisation_may_not_state_is_refused(api, asha, sms_outbox):
    response = api.generate(NAME, MOBILE, purpose="employment")

    assert_error(response, 403, "PURPOSE0001")
    assert sms_outbox == []


# --- the status token -------------------------------------------------------------------------


def test_status_without_a_token_is_refused(api):
    assert_error(api.status(None), 401, "TOKEN0001")
    assert_error(api.status(""), 401, "TOKEN0001")


def test_a_forged_token_is_refused(api):
    assert_error(api.status("eyJ2IjoiMSJ9:1abc:forged"), 401, "TOKEN0002")


def test_the_token_works_while_it_lives_and_not_after(api, asha, sms_outbox, settings):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _txn, token, first = verify_via_api(api, sms_outbox)
        assert first.status_code == 200
        clock.shift(settings.KYVS_API_TOKEN_TTL_SECONDS - 1)
        assert api.status(token).json() == first.json()

        clock.shift(2)
        assert_error(api.status(token), 401, "TOKEN0002")


def test_a_token_is_useless_to_another_organisations_key(api, other_api, asha, sms_outbox):
    _txn, token, _ = verify_via_api(api, sms_outbox)

    response = other_api.status(token)

    assert_error(response, 401, "TOKEN0002")
    assert NAME not in response.content.decode()


def test_another_key_of_the_same_organisation_may_read_the_status(
    api, organisation, asha, sms_outbox
):
    _txn, token, first = verify_via_api(api, sms_outbox)

    assert ApiClient(issue_key(organisation)).status(token).json() == first.json()


def test_the_result_waits_in_the_cache_only_as_long_as_the_token_lives(
    api, asha, sms_outbox, settings, monkeypatch
):
    from django.core.cache import cache

    stored = {}
    real_set = cache.set

    def recording_set(key, value, timeout=None, **kwargs):
        stored[key] = timeout
        return real_set(key, value, timeout, **kwargs)

    monkeypatch.setattr(cache, "set", recording_set)
    txn_id, _token, _ = verify_via_api(api, sms_outbox)

    [timeout] = [t for key, t in stored.items() if txn_id in key and "result" in key]
    assert timeout == settings.KYVS_API_TOKEN_TTL_SECONDS


# --- scopes -----------------------------------------------------------------------------------


@pytest.fixture
def vaccinated_asha(asha):
    add_dose(asha, "Covishield", 1, D)
    add_dose(asha, "Covishield", 2, D + timedelta(days=84))
    return asha


def test_a_key_without_extra_scopes_never_sees_events_or_demographics(vaccinated_asha, sms_outbox):
    organisation = make_organisation(scopes=["vaccinations", "demographics"])
    api = ApiClient(issue_key(organisation, scopes=[]))

    _txn, _token, response = verify_via_api(api, sms_outbox)

    body = response.json()
    assert body["vaccination_status"] == 2
    assert "vaccinations" not in body
    assert "beneficiary" not in body
    assert "Covishield" not in response.content.decode()
    assert str(vaccinated_asha.birth_year) not in response.content.decode()


def test_a_key_with_the_vaccinations_scope_sees_the_events_but_not_demographics(
    vaccinated_asha, sms_outbox
):
    organisation = make_organisation(scopes=["vaccinations", "demographics"])
    api = ApiClient(issue_key(organisation, scopes=["vaccinations"]))

    body = verify_via_api(api, sms_outbox)[2].json()

    assert [dose["vaccine"] for dose in body["vaccinations"]] == ["Covishield", "Covishield"]
    assert "beneficiary" not in body


def test_a_key_with_every_scope_sees_everything(vaccinated_asha, sms_outbox):
    organisation = make_organisation(scopes=["vaccinations", "demographics"])
    api = ApiClient(issue_key(organisation, scopes=["vaccinations", "demographics"]))

    body = verify_via_api(api, sms_outbox)[2].json()

    assert body["beneficiary"] == {"name": NAME, "birth_year": 1990, "gender": "F"}
    assert len(body["vaccinations"]) == 2


def test_a_scope_withdrawn_from_the_organisation_is_withdrawn_from_its_keys(
    vaccinated_asha, sms_outbox
):
    organisation = make_organisation(scopes=["vaccinations", "demographics"])
    api = ApiClient(issue_key(organisation, scopes=["vaccinations", "demographics"]))
    organisation.scopes = []
    organisation.save()

    body = verify_via_api(api, sms_outbox)[2].json()

    assert "vaccinations" not in body
    assert "beneficiary" not in body


def test_the_client_address_is_kept_for_the_audit(api, asha, sms_outbox):
    txn_id = api.generate(NAME, MOBILE).json()["txnId"]

    assert Verification.objects.get(public_id=txn_id).ip == "127.0.0.1"


def test_generate_otp_names_every_missing_field_in_one_answer(api, sms_outbox):
    response = api.post("generateOTP", {})

    assert_error(response, 400, "APPIN0002")
    error = response.json()["error"]
    assert error.startswith("full_name: ")
    assert "mobile_number: " in error
