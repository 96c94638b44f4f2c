"""Input as people really type and paste it: digits of any script, invisible marks, the
usual ways of writing an Indian number, look-alike letters, stray newlines, second-factor
typos, and names in legacy encodings. Each case is checked at every entry point it can
reach: the hosted page, the API, the import, the admin and the models themselves.

All names and numbers here are made up.
"""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from kyvs.mobile import InvalidMobile, normalise_mobile
from kyvs.text import ascii_digits
from providers.models import BackupCodeDevice, Organisation
from providers.registration import RegistrationKind, is_valid, normalise
from tests.conftest import otp_from
from tests.factories import make_beneficiary, make_member, totp_now
from tests.providers.helpers import apply
from tests.verification.api_client import ApiClient, issue_key
from tests.verification.test_import_registry import run_import, write_csv
from verification.models import Beneficiary, Verification
from verification.registry import normalise_name

pytestmark = pytest.mark.django_db

GUJARATI_DIGITS = str.maketrans("0123456789", "૦૧૨૩૪૫૬૭૮૯")
DEVANAGARI_DIGITS = str.maketrans("0123456789", "०१२३४५६७८९")
LRM = "\u200e"


@pytest.fixture
def priya(db):
    return make_beneficiary(name="Priya Mehta", mobile="9825000003", birth_year=1992)


def start_on_the_web(client, mobile, name="Priya Mehta"):
    return client.post(
        "/verify/", {"full_name": name, "mobile_number": mobile, "purpose": "travel"}
    )


def started(response) -> Verification:
    assert response.status_code == 302, response.content.decode()
    return Verification.objects.get(public_id=response["Location"].split("/")[2])


# 1. Digits of any script, in every field that holds digits


@pytest.mark.parametrize("script", [GUJARATI_DIGITS, DEVANAGARI_DIGITS], ids=["gu", "hi"])
def test_the_right_code_typed_in_gujarati_or_devanagari_digits_is_accepted_on_the_web(
    client, bob, priya, sms_outbox, script
):
    client.force_login(bob)
    verification = started(start_on_the_web(client, "9825000003"))
    typed = otp_from(sms_outbox[0]).translate(script)
    response = client.post(f"/verify/{verification.public_id}/", {"otp": typed})
    assert response.status_code == 302
    assert response["Location"].endswith("/result/")


def test_the_code_field_does_not_block_other_scripts_digits_in_the_browser(
    client, bob, priya, sms_outbox
):
    client.force_login(bob)
    verification = started(start_on_the_web(client, "9825000003"))
    page = client.get(f"/verify/{verification.public_id}/").content.decode()
    assert 'pattern="[0-9]{6}"' not in page
    assert 'inputmode="numeric"' in page


def test_the_right_code_in_gujarati_digits_is_accepted_by_the_api(organisation, priya, sms_outbox):
    api = ApiClient(issue_key(organisation))
    txn_id = api.generate("Priya Mehta", "9825000003").json()["txnId"]
    typed = otp_from(sms_outbox[0]).translate(GUJARATI_DIGITS)
    assert api.confirm(txn_id, typed).status_code == 200


def test_an_import_reads_years_dose_numbers_and_dates_in_gujarati_digits(tmp_path):
    row = "12345678900001,Priya Mehta,9825000003,1992,F,Covishield,1,primary,2021-05-01,PHC,Surat,Gujarat"  # noqa: E501
    fields = row.split(",")
    for index in (0, 2, 3, 6, 8):
        fields[index] = fields[index].translate(GUJARATI_DIGITS)
    run_import(write_csv(tmp_path, ",".join(fields)))
    person = Beneficiary.objects.get()
    assert (person.reference_id, person.mobile, person.birth_year) == (
        "12345678900001",
        "9825000003",
        1992,
    )
    dose = person.doses.get()
    assert (dose.dose_number, dose.date.isoformat()) == (1, "2021-05-01")


def test_a_second_factor_code_in_gujarati_digits_is_accepted(client, alice):
    client.post("/accounts/login/", {"username": "alice", "password": "password-for-tests"})
    device = TOTPDevice.objects.get(user=alice)
    typed = totp_now(device).translate(GUJARATI_DIGITS)
    response = client.post("/accounts/two-factor/", {"code": typed, "next": "/console/"})
    assert response["Location"] == "/console/"


def test_a_registration_number_in_fullwidth_or_gujarati_digits_is_the_same_number():
    assert normalise("ｌ１７１１０ｍｈ１９７３ｐｌｃ０１９７８６") == "L17110MH1973PLC019786"
    typed = "24AAACC1206D1ZM".translate(GUJARATI_DIGITS)
    assert is_valid(RegistrationKind.GSTIN, normalise(typed))


def test_digits_of_every_script_read_as_ascii():
    assert ascii_digits("૯૮२५٠٠０0") == "98250000"


# 2. Invisible formatting characters in a pasted mobile


@pytest.mark.parametrize("mark", [LRM, "\u200b", "\u2066", "\ufeff"], ids=repr)
def test_a_pasted_mobile_with_an_invisible_mark_is_read_as_the_number(mark):
    assert normalise_mobile(f"{mark}9825000003") == "9825000003"
    assert normalise_mobile(f"98250{mark}00003{mark}") == "9825000003"


def test_the_web_form_reads_a_mobile_pasted_with_a_left_to_right_mark(
    client, bob, priya, sms_outbox
):
    client.force_login(bob)
    started(start_on_the_web(client, f"{LRM}9825000003"))
    assert sms_outbox[0].to == "9825000003"


def test_the_import_reads_a_mobile_with_a_left_to_right_mark(tmp_path):
    run_import(write_csv(tmp_path, f"12345678900001,Priya Mehta,{LRM}9825000003,1992,F,,,,,,,"))
    assert Beneficiary.objects.get().mobile == "9825000003"


# 3. The usual ways of writing an Indian number


@pytest.mark.parametrize(
    "typed",
    [
        "9825000003",
        "98250 00003",
        "98250-00003",
        "+91 98250 00003",
        "+91-98250-00003",
        "+919825000003",
        "919825000003",
        "91 98250 00003",
        "0091 98250 00003",
        "0091-9825000003",
        "09825000003",
        "0 98250 00003",
        "(+91) 98250 00003",
        "+91 (0) 98250 00003",
        "98250.00003",
        "＋９１ ９８２５０ ０００੦३".translate(GUJARATI_DIGITS),
        "૯૮૨૫૦૦૦૦૦૩",
        "९८२५०००००३",
        " 98250 00003\n",
    ],
)
def test_the_usual_ways_of_writing_an_indian_mobile_are_one_number(typed):
    assert normalise_mobile(typed) == "9825000003"


@pytest.mark.parametrize(
    "typed",
    [
        "98250 ABCDE",  # a keypad's letters are not a mobile
        "+1 9825000003",
        "+44 9825000003",
        "5825000003",  # Indian mobiles begin with 6, 7, 8 or 9
        "022 2345 6789",  # a landline
        "1800 123 4567",  # a toll-free number
        "98250000031",
        "982500000",
        "+91 98250 00003 ext 12",
        "",
        "+",
        "९८२५०००००३९",
    ],
)
def test_what_is_not_an_indian_mobile_is_refused(typed):
    with pytest.raises(InvalidMobile):
        normalise_mobile(typed)


def test_the_web_form_takes_a_number_written_with_0091(client, bob, priya, sms_outbox):
    client.force_login(bob)
    started(start_on_the_web(client, "0091 98250 00003"))
    assert [m.to for m in sms_outbox] == ["9825000003"]


def test_the_api_takes_a_number_written_with_0091(organisation, priya, sms_outbox):
    api = ApiClient(issue_key(organisation))
    assert api.generate("Priya Mehta", "0091 98250 00003").status_code == 200
    assert [m.to for m in sms_outbox] == ["9825000003"]


def test_the_import_takes_a_number_written_with_0091(tmp_path):
    run_import(write_csv(tmp_path, "12345678900001,Priya Mehta,0091 98250 00003,1992,F,,,,,,,"))
    assert Beneficiary.objects.get().mobile == "9825000003"


def test_an_application_takes_a_number_written_with_0091(client):
    apply(client, mobile="0091 98250 00003")
    assert Organisation.objects.get().contact_mobile == "9825000003"


# 4. Identifiers are stored in ASCII, whatever the entry point


def test_a_reference_id_typed_in_gujarati_digits_in_the_admin_is_stored_in_ascii(
    client, registry_admin, tmp_path
):
    client.force_login(registry_admin)
    response = client.post(
        "/admin/verification/beneficiary/add/",
        {
            "reference_id": "12345678901234".translate(GUJARATI_DIGITS),
            "name": "Priya Mehta",
            "mobile": "૯૮૨૫૦૦૦૦૦૩",
            "birth_year": "1992",
            "gender": "F",
            "doses-TOTAL_FORMS": "0",
            "doses-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()
    person = Beneficiary.objects.get()
    assert (person.reference_id, person.mobile) == ("12345678901234", "9825000003")

    # A later import of the same person with the ASCII id updates, never duplicates.
    run_import(write_csv(tmp_path, "12345678901234,Priya Mehta,9825000003,1992,F,,,,,,,"))
    assert Beneficiary.objects.count() == 1


def test_the_models_store_and_find_identifiers_in_ascii_whatever_the_caller_passes():
    person = Beneficiary.objects.create(
        reference_id="12345678901234".translate(DEVANAGARI_DIGITS),
        name="Priya Mehta",
        mobile="+91 98250 00003",
        birth_year=1992,
        gender="F",
    )
    person.refresh_from_db()
    assert (person.reference_id, person.mobile) == ("12345678901234", "9825000003")
    assert Beneficiary.objects.get(reference_id="12345678901234".translate(GUJARATI_DIGITS))
    assert Beneficiary.objects.get(mobile="0091 98250 00003") == person


def test_the_admin_refuses_a_reference_id_that_is_not_14_digits(client, registry_admin):
    client.force_login(registry_admin)
    response = client.post(
        "/admin/verification/beneficiary/add/",
        {
            "reference_id": "1234567890123\n",
            "name": "Priya Mehta",
            "mobile": "9825000003",
            "birth_year": "1992",
            "gender": "F",
            "doses-TOTAL_FORMS": "0",
            "doses-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "A reference id is 14 digits." in response.content.decode()
    assert not Beneficiary.objects.exists()


# 5. Look-alike user names share the sign-in limit


def test_every_spelling_of_a_user_name_that_reaches_the_account_shares_its_limit(
    client, organisation
):
    make_member(organisation, "counter7")
    for spelling in ["counter7", "ｃｏｕｎｔｅｒ７", "COUNTER7", "counter\u200b7", "Ｃounter7"]:
        client.post("/accounts/login/", {"username": spelling, "password": "wrong"})
    response = client.post(
        "/accounts/login/", {"username": "ｃｏｕｎｔｅｒ７", "password": "password-for-tests"}
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


# 6. A trailing newline (or any stray white space) costs no try


@pytest.mark.parametrize("sent", ["{code}\n", " {code} ", "{code}\r\n", "{sha}\n"])
def test_the_right_code_with_a_trailing_newline_is_accepted_by_the_api(
    organisation, priya, sms_outbox, sent
):
    api = ApiClient(issue_key(organisation))
    txn_id = api.generate("Priya Mehta", "9825000003").json()["txnId"]
    code = otp_from(sms_outbox[0])
    otp = sent.format(code=code, sha=hashlib.sha256(code.encode()).hexdigest())
    assert api.confirm(txn_id, otp).status_code == 200


@pytest.mark.parametrize("sent", ["12-3456", "1234567", "12345", "abcdef", "12345\n67"])
def test_a_malformed_code_is_refused_as_malformed_and_costs_no_try(
    organisation, priya, sms_outbox, sent
):
    api = ApiClient(issue_key(organisation))
    txn_id = api.generate("Priya Mehta", "9825000003").json()["txnId"]
    response = api.confirm(txn_id, sent)
    assert response.status_code == 400
    assert Verification.objects.get(public_id=txn_id).attempts == 0


def test_a_txn_id_with_a_trailing_newline_is_the_transaction(organisation, priya, sms_outbox):
    api = ApiClient(issue_key(organisation))
    txn_id = api.generate("Priya Mehta", "9825000003").json()["txnId"]
    assert api.confirm(txn_id + "\n", otp_from(sms_outbox[0])).status_code == 200


def test_a_reference_id_with_a_trailing_newline_is_read_without_it():
    person = make_beneficiary(reference_id="12345678901234\n", mobile="9825000003\n")
    person.refresh_from_db()
    assert (person.reference_id, person.mobile) == ("12345678901234", "9825000003")


# 7. Second-factor typos do not lock out backup codes


def _sign_in(client, username):
    client.post("/accounts/login/", {"username": username, "password": "password-for-tests"})


def _enrol_with_backup_codes(organisation, username) -> tuple:
    user = make_member(organisation, username, role="admin")
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    backup = BackupCodeDevice.objects.create(user=user, name="Backup codes", confirmed=True)
    return user, device, backup.generate_codes()


def test_typos_before_the_right_app_code_do_not_lock_the_backup_codes(organisation):
    _user, device, codes = _enrol_with_backup_codes(organisation, "meera")
    start = timezone.now()
    for n in range(3):
        client = Client()
        with time_machine.travel(start + timedelta(minutes=20 * n), tick=False):
            _sign_in(client, "meera")
            wrong = client.post("/accounts/two-factor/", {"code": "000000"})
            assert wrong.status_code == 422
        # Retyping takes a person a few seconds.
        with time_machine.travel(start + timedelta(minutes=20 * n, seconds=5), tick=False):
            right = client.post("/accounts/two-factor/", {"code": totp_now(device)})
            assert right.status_code == 302
    assert BackupCodeDevice.objects.get(user__username="meera").throttling_failure_count == 0
    with time_machine.travel(start + timedelta(minutes=40, seconds=6), tick=False):
        client = Client()
        _sign_in(client, "meera")
        response = client.post("/accounts/two-factor/", {"code": codes[0]})
    assert response.status_code == 302
    assert BackupCodeDevice.objects.get(user__username="meera").remaining == 9


def test_a_wrong_app_code_is_charged_to_the_app_only(organisation):
    user, _device, _codes = _enrol_with_backup_codes(organisation, "meera")
    client = Client()
    _sign_in(client, "meera")
    client.post("/accounts/two-factor/", {"code": "000000"})
    assert TOTPDevice.objects.get(user=user).throttling_failure_count == 1
    assert BackupCodeDevice.objects.get(user=user).throttling_failure_count == 0


def test_a_right_code_from_any_device_clears_every_devices_count(organisation):
    user, device, codes = _enrol_with_backup_codes(organisation, "meera")
    client = Client()
    _sign_in(client, "meera")
    client.post("/accounts/two-factor/", {"code": "aaaaa-aaaaa"})
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        client.post("/accounts/two-factor/", {"code": "000000"})
    with time_machine.travel(timezone.now() + timedelta(seconds=10), tick=False):
        assert client.post("/accounts/two-factor/", {"code": codes[1]}).status_code == 302
    for each in (TOTPDevice.objects.get(user=user), BackupCodeDevice.objects.get(user=user)):
        assert each.throttling_failure_count == 0


def test_a_throttled_code_says_so_and_when_to_try_again(organisation):
    _user, device, _codes = _enrol_with_backup_codes(organisation, "meera")
    client = Client()
    _sign_in(client, "meera")
    client.post("/accounts/two-factor/", {"code": "000000"})
    response = client.post("/accounts/two-factor/", {"code": totp_now(device)})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "try again at" in response.content.decode()
    assert "not right" not in response.content.decode()


def test_new_backup_codes_are_not_locked_by_wrong_guesses_at_the_old_ones(organisation):
    user, _device, _codes = _enrol_with_backup_codes(organisation, "meera")
    backup = BackupCodeDevice.objects.get(user=user)
    for _ in range(30):
        backup.throttle_increment()
    codes = backup.generate_codes()
    client = Client()
    _sign_in(client, "meera")
    assert client.post("/accounts/two-factor/", {"code": codes[0]}).status_code == 302


# 8. Names in a legacy encoding are the same name


@pytest.mark.parametrize(
    ("registered", "typed"),
    [
        ("അരുൺ", "അരുണ്\u200d"),  # Malayalam chillu nn: atomic, and consonant+virama+ZWJ
        ("അരുണ്\u200d", "അരുൺ"),
        ("ഷെറിൻ", "ഷെറിന്\u200d"),  # chillu n
        ("കാർത്തിക്", "കാര്\u200dത്തിക്"),  # chillu rr
        ("അനിൽ", "അനില്\u200d"),  # chillu l
        ("കമൽ", "കമല്\u200d"),
        ("ബിജു പോൾ", "ബിജു പോള്\u200d"),  # chillu ll
        ("বিদ্যুৎ", "বিদ্যুত্\u200d"),  # Bengali khanda ta
    ],
)
def test_a_name_in_a_legacy_encoding_matches_the_same_name(registered, typed):
    assert normalise_name(registered) == normalise_name(typed)


def test_the_operator_finds_a_person_registered_with_atomic_chillu_letters(
    client, bob, sms_outbox
):
    make_beneficiary(name="അരുൺ", mobile="9825000004")
    client.force_login(bob)
    started(start_on_the_web(client, "9825000004", name="അരുണ്\u200d"))
    assert [m.to for m in sms_outbox] == ["9825000004"]


def test_names_that_differ_in_more_than_the_encoding_still_differ():
    assert normalise_name("അരുൺ") != normalise_name("അരുന്")


def test_the_admin_finds_a_beneficiary_by_a_mobile_or_id_typed_in_gujarati_digits(
    client, registry_admin, priya
):
    client.force_login(registry_admin)
    for typed in ("૯૮૨૫૦૦૦૦૦૩", priya.reference_id.translate(GUJARATI_DIGITS)):
        listing = client.get("/admin/verification/beneficiary/", {"q": typed})
        assert priya.reference_id in listing.content.decode(), typed
