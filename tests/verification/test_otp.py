import hashlib

from verification import otp


def test_codes_have_six_digits():
    codes = {otp.make_otp() for _ in range(200)}
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert len(codes) > 150


def test_the_stored_hash_is_not_the_code_nor_its_plain_sha256():
    stored = otp.hash_otp("123456", "ctx")
    assert "123456" not in stored
    assert stored != hashlib.sha256(b"123456").hexdigest()


def test_the_hash_is_bound_to_its_verification():
    assert otp.hash_otp("123456", "one") != otp.hash_otp("123456", "two")
    assert not otp.otp_matches(otp.hash_otp("123456", "one"), "123456", "two")


def test_the_hash_depends_on_the_secret_key(settings):
    before = otp.hash_otp("123456", "ctx")
    settings.SECRET_KEY = "another-secret"
    assert otp.hash_otp("123456", "ctx") != before


def test_a_plain_code_and_its_sha256_both_match():
    stored = otp.hash_otp("123456", "ctx")
    assert otp.otp_matches(stored, "123456", "ctx")
    assert otp.otp_matches(stored, hashlib.sha256(b"123456").hexdigest(), "ctx")
    assert otp.otp_matches(stored, hashlib.sha256(b"123456").hexdigest().upper(), "ctx")


def test_wrong_or_malformed_codes_do_not_match():
    stored = otp.hash_otp("123456", "ctx")
    for submitted in ["123457", "12345", "1234567", "", "abcdef", "12345６７", "12-345"]:
        assert not otp.otp_matches(stored, submitted, "ctx")


def test_the_code_in_any_scripts_digits_matches():
    # A fullwidth keyboard, a Gujarati or a Devanagari one: the same six digits.
    stored = otp.hash_otp("123456", "ctx")
    for submitted in ["12345６", "૧૨૩૪૫૬", "१२३४५६", " 123456\n"]:
        assert otp.otp_matches(stored, submitted, "ctx")


def test_an_empty_stored_hash_matches_nothing():
    assert not otp.otp_matches("", "123456", "ctx")
