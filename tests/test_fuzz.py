"""Fuzzing every field of the web flow: arbitrary Unicode, control characters, very long
strings and malformed numbers never give a 500 and never leave a row half-written."""

import json
import string

from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from tests.conftest import otp_from
from tests.factories import make_beneficiary, make_member, make_organisation
from verification import registry, sms
from verification.models import Verification
from verification.services import start_verification

FUZZ = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Any character a browser could send: every category but lone surrogates, which no
# UTF-8 request can carry.
any_char = st.characters(exclude_categories=["Cs"])
control_char = st.characters(categories=["Cc", "Cf", "Zl", "Zp"])
garbage = st.one_of(
    st.text(any_char, max_size=50),
    st.text(control_char, min_size=1, max_size=20),
    st.text(any_char, min_size=1, max_size=5).map(lambda s: s * 2000),  # very long
    st.sampled_from(["", " ", "\x00", "\u202e", "\ufeff", "null", "None", "<script>", "%00"]),
)
# Numbers almost but not quite Indian mobiles: wrong length, wrong lead digit, other
# scripts' digits, stray signs and separators.
malformed_number = st.one_of(
    st.from_regex(r"\A[+0-9 ()\-.]{0,25}\Z"),
    st.from_regex(r"\A[+]?9?1?[0-5][0-9]{9}\Z"),
    st.from_regex(r"\A[0-9]{1,9}\Z|\A[0-9]{11,40}\Z"),
    st.text(st.characters(categories=["Nd"]), min_size=1, max_size=14),
    st.integers().map(str),
    st.floats(allow_nan=True).map(str),
)
field_value = st.one_of(garbage, malformed_number)


class FuzzCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.organisation = make_organisation(name="Fuzz Travels")
        cls.operator = make_member(cls.organisation, "fuzz-operator")
        cls.citizen = make_beneficiary(name="Asha Patel", mobile="9876543210")

    def setup_example(self):
        super().setup_example()
        # Rate limits count in the cache; each example starts with none used.
        cache.clear()
        sms.outbox.clear()

    def signed_in(self) -> Client:
        client = Client()
        client.force_login(self.operator)
        return client

    def assert_not_a_server_error(self, response):
        self.assertLess(response.status_code, 500, response.content[:500])


class StartFormFuzz(FuzzCase):
    @FUZZ
    @given(full_name=field_value, mobile=field_value, purpose=field_value)
    def test_any_input_to_the_start_form_is_refused_or_starts_exactly_one(
        self, full_name, mobile, purpose
    ):
        with self.settings(KYVS_SMS_BACKEND="verification.sms.LocmemBackend"):
            response = self.signed_in().post(
                "/verify/",
                {"full_name": full_name, "mobile_number": mobile, "purpose": purpose},
            )
        self.assert_not_a_server_error(response)
        created = Verification.objects.count()
        if response.status_code == 302:
            self.assertEqual(created, 1)
        else:
            self.assertEqual(created, 0)
            self.assertEqual(sms.outbox, [])

    @FUZZ
    @given(
        full_name=st.text(any_char, min_size=1, max_size=100),
        mobile=st.sampled_from(
            ["9876543210", "+91 98765 43210", "098765-43210", "91 9876543210", "٩٨٧٦٥٤٣٢١٠"]
        ),
        purpose=st.sampled_from(["travel", "service"]),
    )
    def test_a_valid_start_creates_exactly_one_verification(self, full_name, mobile, purpose):
        assume(registry.normalise_name(full_name) and "\x00" not in full_name)
        with self.settings(KYVS_SMS_BACKEND="verification.sms.LocmemBackend"):
            response = self.signed_in().post(
                "/verify/",
                {"full_name": full_name, "mobile_number": mobile, "purpose": purpose},
            )
        self.assertEqual(response.status_code, 302, response.content[:500])
        verification = Verification.objects.get()
        self.assertEqual(verification.mobile_masked[-4:], "3210")
        self.assertEqual(verification.purpose, purpose)


class OtpFormFuzz(FuzzCase):
    @FUZZ
    @given(otp=st.one_of(field_value, st.text(string.digits, min_size=5, max_size=7)))
    def test_any_code_is_refused_without_a_500_and_moves_the_counter_at_most_once(self, otp):
        with self.settings(KYVS_SMS_BACKEND="verification.sms.LocmemBackend"):
            verification = start_verification(
                organisation=self.organisation,
                operator=self.operator,
                full_name="Asha Patel",
                mobile="9876543210",
                purpose="travel",
            )
        assume("".join(otp.split()) != otp_from(sms.outbox[-1]))
        response = self.signed_in().post(f"/verify/{verification.public_id}/", {"otp": otp})
        self.assert_not_a_server_error(response)
        verification.refresh_from_db()
        self.assertEqual(verification.state, Verification.State.OTP_SENT)
        self.assertIn(verification.attempts, (0, 1))
        self.assertTrue(verification.otp_hash)
        self.assertEqual(verification.attempts == 1, response.status_code == 422)


class LoginFuzz(FuzzCase):
    @FUZZ
    @given(username=field_value, password=field_value)
    def test_any_sign_in_attempt_is_refused_without_a_500(self, username, password):
        response = Client().post("/accounts/login/", {"username": username, "password": password})
        self.assert_not_a_server_error(response)
        self.assertNotEqual(response.status_code, 302)


class LanguageSwitchFuzz(FuzzCase):
    @FUZZ
    @given(language=field_value, next_url=field_value)
    def test_any_language_or_next_address_is_handled_without_a_500(self, language, next_url):
        response = self.signed_in().post(
            "/i18n/setlang/", {"language": language, "next": next_url}
        )
        self.assert_not_a_server_error(response)
        if response.status_code == 302:
            location = response["Location"]
            self.assertFalse(location.startswith(("http:", "https:", "//")), location)


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | field_value,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)
# A field is absent, a string of any kind, or any other JSON value.
json_field = st.one_of(st.just(None), field_value, json_value)


def json_body(**fields) -> str:
    return json.dumps({k: v for k, v in fields.items() if v is not None})


class ApiFuzz(FuzzCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        from providers.models import ApiKey

        cls.api_key, cls.raw_key = ApiKey.issue(cls.organisation, "fuzz")

    def post_json(self, url: str, body: str | bytes):
        return Client().post(
            url, body, content_type="application/json", headers={"X-Api-Key": self.raw_key}
        )

    @FUZZ
    @given(full_name=json_field, mobile=json_field, purpose=json_field)
    def test_any_json_to_generate_otp_is_refused_or_starts_exactly_one(
        self, full_name, mobile, purpose
    ):
        with self.settings(KYVS_SMS_BACKEND="verification.sms.LocmemBackend"):
            response = self.post_json(
                "/api/v3/vaccination/generateOTP",
                json_body(full_name=full_name, mobile_number=mobile, purpose=purpose),
            )
        self.assert_not_a_server_error(response)
        created = Verification.objects.count()
        if response.status_code == 200:
            self.assertEqual(created, 1)
            self.assertEqual(str(Verification.objects.get().public_id), response.json()["txnId"])
        else:
            self.assertEqual(created, 0)
            self.assertEqual(sms.outbox, [])

    @FUZZ
    @given(otp=json_field, txn_id=st.one_of(json_field, st.uuids().map(str)))
    def test_any_json_to_confirm_otp_is_refused_without_a_500(self, otp, txn_id):
        with self.settings(KYVS_SMS_BACKEND="verification.sms.LocmemBackend"):
            verification = start_verification(
                organisation=self.organisation,
                api_key=self.api_key,
                full_name="Asha Patel",
                mobile="9876543210",
                purpose="travel",
                channel=Verification.Channel.API,
            )
        assume(not isinstance(otp, str) or "".join(otp.split()) != otp_from(sms.outbox[-1]))
        for txn in (txn_id, str(verification.public_id)):
            response = self.post_json(
                "/api/v3/vaccination/confirmOTP", json_body(otp=otp, txnId=txn)
            )
            self.assert_not_a_server_error(response)
        verification.refresh_from_db()
        self.assertEqual(verification.state, Verification.State.OTP_SENT)
        self.assertIn(verification.attempts, (0, 1))
        self.assertTrue(verification.otp_hash)

    @FUZZ
    @given(body=st.one_of(st.binary(max_size=300), field_value.map(str.encode)))
    def test_any_raw_body_to_the_api_is_refused_without_a_500(self, body):
        for url in ["/api/v3/vaccination/generateOTP", "/api/v3/vaccination/confirmOTP"]:
            response = self.post_json(url, body)
            self.assert_not_a_server_error(response)
        self.assertFalse(Verification.objects.exists())
