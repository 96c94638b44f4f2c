"""Signed receipts: made at confirmation, checked with an independent JOSE library (PyJWT),
rotated without breaking old ones, shown on the web result, checked by page and command."""

import io
import json
import stat
import uuid
from datetime import UTC, date, datetime, timedelta

import jwt
import pytest
import time_machine
import zxingcpp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image

from tests.conftest import otp_from
from tests.factories import add_dose, make_beneficiary, make_organisation
from tests.verification.api_client import ApiClient, issue_key, sha256
from verification import receipts
from verification.templatetags.receipts import QR_MASK, qr_code

NAME = "Asha Patel"
MOBILE = "9876543210"


def new_pem(private: bool = True) -> bytes:
    key = Ed25519PrivateKey.generate()
    if private:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def key_dir(tmp_path, settings):
    """A directory of signing keys, as production rotates them."""
    folder = tmp_path / "keys"
    folder.mkdir()
    (folder / "2025-01.pem").write_bytes(new_pem())
    settings.KYVS_SIGNING_KEY_FILE = str(folder)
    settings.KYVS_SIGNING_KEY_GENERATE = False
    return folder


@pytest.fixture
def organisation_with_everything(db):
    return make_organisation(scopes=["vaccinations", "demographics"])


def api_receipt(client, organisation, sms_outbox) -> dict:
    """A receipt made by the API, the way a client receives it."""
    api = ApiClient(issue_key(organisation), client)
    txn_id = api.generate(NAME, MOBILE).json()["txnId"]
    token = api.confirm(txn_id, sha256(otp_from(sms_outbox[-1]))).json()["token"]
    return api.status(token).json()


def pyjwt_decode(receipt: str, jwks: dict, audience: str):
    """Check a receipt as a stranger would: PyJWT, the published JWKS, the kid."""
    kid = jwt.get_unverified_header(receipt)["kid"]
    (key,) = [k for k in jwks["keys"] if k["kid"] == kid]
    return jwt.decode(
        receipt,
        jwt.PyJWK(key).key,
        algorithms=["EdDSA"],
        audience=audience,
        issuer="KYVS",
        options={"require": ["iss", "aud", "sub", "iat", "exp"]},
    )


def flip_one_byte(token: str, part: int) -> str:
    parts = token.split(".")
    middle = len(parts[part]) // 2
    char = parts[part][middle]
    parts[part] = parts[part][:middle] + ("A" if char != "A" else "B") + parts[part][middle + 1 :]
    return ".".join(parts)


def test_an_api_receipt_verifies_with_the_published_jwks_in_an_independent_library(
    client, organisation_with_everything, sms_outbox
):
    person = make_beneficiary(name=NAME, mobile=MOBILE, birth_year=1990)
    add_dose(person, "Covaxin", 1, date(2021, 6, 1))
    body = api_receipt(client, organisation_with_everything, sms_outbox)
    jwks = client.get("/.well-known/jwks.json").json()

    claims = pyjwt_decode(body["receipt"], jwks, str(organisation_with_everything.public_id))

    assert claims["sub"] == body["verification_id"]
    assert claims["vaccination_status"] == body["vaccination_status"] == 1
    assert claims["purpose"] == "travel"
    assert claims["vaccinations"] == body["vaccinations"]
    assert claims["beneficiary"] == body["beneficiary"]
    assert claims["exp"] - claims["iat"] == 365 * 86400


@pytest.mark.parametrize("part", [0, 1, 2], ids=["header", "payload", "signature"])
def test_a_receipt_with_one_byte_changed_fails_in_both_libraries(
    client, organisation_with_everything, sms_outbox, part
):
    make_beneficiary(name=NAME, mobile=MOBILE)
    receipt = api_receipt(client, organisation_with_everything, sms_outbox)["receipt"]
    jwks = client.get("/.well-known/jwks.json").json()
    tampered = flip_one_byte(receipt, part)

    with pytest.raises((jwt.InvalidTokenError, KeyError, ValueError)):
        pyjwt_decode(tampered, jwks, str(organisation_with_everything.public_id))
    assert not receipts.verify(tampered).valid
    assert receipts.verify(receipt).valid


def test_a_receipt_states_only_what_the_key_was_allowed_to_see(client, db, sms_outbox):
    make_beneficiary(name=NAME, mobile=MOBILE)
    organisation = make_organisation(scopes=["vaccinations", "demographics"])
    api = ApiClient(issue_key(organisation, scopes=[]), client)
    txn_id = api.generate(NAME, MOBILE).json()["txnId"]
    token = api.confirm(txn_id, sha256(otp_from(sms_outbox[-1]))).json()["token"]

    claims = receipts.verify(api.status(token).json()["receipt"]).claims

    assert "vaccinations" not in claims
    assert "beneficiary" not in claims
    assert claims["aud"] == str(organisation.public_id)


def test_the_kid_is_the_rfc7638_thumbprint_of_the_key(key_dir):
    (jwk,) = receipts.jwks()["keys"]
    # RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace.
    import base64
    import hashlib

    canonical = json.dumps(
        {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":")
    )
    digest = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=")

    assert jwk["kid"] == digest.decode()
    assert "d" not in jwk


def test_after_a_rotation_the_new_key_signs_and_old_receipts_still_verify(key_dir, settings):
    old_receipt = receipts.sign({"iss": "KYVS", "iat": int(timezone.now().timestamp())})
    old_kid = jwt.get_unverified_header(old_receipt)["kid"]

    (key_dir / "2026-01.pem").write_bytes(new_pem())
    settings.KYVS_SIGNING_KEY_FILE = str(key_dir)  # a deploy restarts the app servers
    new_receipt = receipts.sign({"iss": "KYVS", "iat": int(timezone.now().timestamp())})
    published = [k["kid"] for k in receipts.jwks()["keys"]]

    assert jwt.get_unverified_header(new_receipt)["kid"] != old_kid
    assert published == [jwt.get_unverified_header(new_receipt)["kid"], old_kid]
    assert receipts.verify(old_receipt).problem == str(receipts.PROBLEMS["expired"])
    assert receipts.verify(old_receipt).claims is not None


def test_a_retired_key_kept_as_a_public_key_stays_published_but_never_signs(tmp_path, settings):
    key_file = tmp_path / "keys.pem"
    private = Ed25519PrivateKey.generate()
    retired_public = new_pem(private=False)
    key_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + retired_public
    )
    settings.KYVS_SIGNING_KEY_FILE = str(key_file)
    settings.KYVS_SIGNING_KEY_GENERATE = False

    keys = receipts.signing_keys()

    assert len(keys.published) == 2
    assert keys.signing.is_private
    assert keys.signing.kid == keys.published[1].kid


def test_a_missing_key_file_is_generated_once_in_development(tmp_path, settings):
    path = tmp_path / "signing-key.pem"
    settings.KYVS_SIGNING_KEY_FILE = str(path)
    settings.KYVS_SIGNING_KEY_GENERATE = True

    first = receipts.signing_keys().signing.kid
    settings.KYVS_SIGNING_KEY_FILE = str(path)  # a restart reads the same file
    receipts._load.cache_clear()

    assert receipts.signing_keys().signing.kid == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_missing_key_file_stops_production(tmp_path, settings):
    settings.KYVS_SIGNING_KEY_FILE = str(tmp_path / "nowhere.pem")
    settings.KYVS_SIGNING_KEY_GENERATE = False

    with pytest.raises(ImproperlyConfigured, match="KYVS_SIGNING_KEY_FILE"):
        receipts.signing_keys()


def test_a_key_file_without_a_private_key_stops_start_up(tmp_path, settings):
    path = tmp_path / "public.pem"
    path.write_bytes(new_pem(private=False))
    settings.KYVS_SIGNING_KEY_FILE = str(path)
    settings.KYVS_SIGNING_KEY_GENERATE = False

    with pytest.raises(ImproperlyConfigured, match="no private key"):
        receipts.signing_keys()


def claims_now(**more) -> dict:
    now = int(datetime.now(UTC).timestamp())
    return {"iss": "KYVS", "sub": "x", "iat": now, "exp": now + 3600, **more}


def test_an_expired_receipt_is_genuine_but_not_valid(key_dir):
    receipt = receipts.sign(claims_now())

    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):
        check = receipts.verify(receipt)

    assert not check.valid
    assert check.problem == str(receipts.PROBLEMS["expired"])


def test_a_receipt_from_another_issuer_is_not_valid(key_dir):
    receipt = receipts.sign(claims_now(iss="someone-else"))

    assert receipts.verify(receipt).valid
    assert receipts.verify(receipt, issuer="KYVS").problem == str(receipts.PROBLEMS["issuer"])


def test_a_token_signed_with_another_algorithm_or_key_is_refused(key_dir):
    hs256 = jwt.encode(claims_now(), "a shared secret that is long enough", algorithm="HS256")
    foreign_key = Ed25519PrivateKey.generate()
    foreign = jwt.encode(claims_now(), foreign_key, algorithm="EdDSA", headers={"kid": "x"})
    (jwk,) = receipts.jwks()["keys"]
    borrowed_kid = jwt.encode(
        claims_now(), foreign_key, algorithm="EdDSA", headers={"kid": jwk["kid"]}
    )

    assert receipts.verify(hs256).problem == str(receipts.PROBLEMS["algorithm"])
    assert receipts.verify(foreign).problem == str(receipts.PROBLEMS["unknown_key"])
    assert receipts.verify(borrowed_kid).problem == str(receipts.PROBLEMS["signature"])


@pytest.mark.parametrize("text", ["", "hello", "a.b.c", "a.b", "é.é.é", "x" * 20000 + ".a.b"])
def test_anything_that_is_not_a_receipt_is_refused_calmly(key_dir, text):
    check = receipts.verify(text)

    assert not check.valid
    assert check.claims is None


# --- the public page -----------------------------------------------------------------------


def test_the_verify_page_says_a_genuine_receipt_is_valid_and_what_it_states(
    client, organisation_with_everything, sms_outbox
):
    make_beneficiary(name=NAME, mobile=MOBILE)
    receipt = api_receipt(client, organisation_with_everything, sms_outbox)["receipt"]

    page = client.post("/receipts/verify/", {"receipt": receipt})

    text = page.content.decode()
    assert page.status_code == 200
    assert "Valid: this receipt was signed by KYVS" in text
    assert "Not vaccinated" in text
    assert organisation_with_everything.name in text
    assert NAME in text
    assert "no-store" in page["Cache-Control"]


def test_the_verify_page_says_a_changed_receipt_is_not_valid_and_shows_nothing_of_it(
    client, organisation_with_everything, sms_outbox
):
    make_beneficiary(name=NAME, mobile=MOBILE)
    receipt = api_receipt(client, organisation_with_everything, sms_outbox)["receipt"]

    page = client.post("/receipts/verify/", {"receipt": flip_one_byte(receipt, 1)})

    text = page.content.decode()
    assert "Not valid." in text
    assert "has been altered or forged" in text
    assert NAME not in text


def test_the_verify_page_asks_for_a_receipt_when_given_none(client, db):
    page = client.post("/receipts/verify/", {"receipt": ""})

    assert "Paste a receipt to check." in page.content.decode()


# --- the receipt's link (its QR code) -------------------------------------------------------


def link_to(verification_id) -> str:
    return f"/receipts/{verification_id}/?c={receipts.link_check(str(verification_id))}"


def test_a_link_check_is_short_keyed_and_its_own_for_each_verification(settings):
    first, second = "3f6c2a1e-8d4b-4c1a-9b1e-2f0a7c5d9e11", "3f6c2a1e-8d4b-4c1a-9b1e-2f0a7c5d9e12"
    check = receipts.link_check(first)

    assert len(check) == 22 and check.replace("-", "").replace("_", "").isalnum()
    assert receipts.link_check_matches(first, check)
    assert not receipts.link_check_matches(second, check)
    assert not receipts.link_check_matches(first, check[:-1] + ("A" if check[-1] != "A" else "B"))
    settings.SECRET_KEY = "another-secret-key-for-this-test"
    assert not receipts.link_check_matches(first, check)


def test_the_receipts_page_checks_the_kept_receipt_against_its_verification(
    client, organisation_with_everything, sms_outbox
):
    make_beneficiary(name=NAME, mobile=MOBILE)
    answer = api_receipt(client, organisation_with_everything, sms_outbox)

    page = client.get(link_to(answer["verification_id"]))
    checked = client.post(link_to(answer["verification_id"]), {"receipt": answer["receipt"]})

    text = page.content.decode()
    assert "KYVS issued a signed receipt for this verification" in text
    assert organisation_with_everything.name in text
    # The page has nothing of the answer until the kept receipt is pasted: KYVS keeps none.
    assert NAME not in text and "Not vaccinated" not in text
    assert "no-store" in page["Cache-Control"]
    assert "Valid: this receipt was signed by KYVS" in checked.content.decode()


def test_a_receipt_of_another_verification_is_not_taken_for_this_one(
    client, organisation_with_everything, sms_outbox
):
    make_beneficiary(name=NAME, mobile=MOBILE)
    first = api_receipt(client, organisation_with_everything, sms_outbox)
    second = api_receipt(client, organisation_with_everything, sms_outbox)

    page = client.post(link_to(first["verification_id"]), {"receipt": second["receipt"]})

    text = page.content.decode()
    assert "Not valid." in text and "for another verification" in text


def test_a_wrong_check_value_or_an_unfinished_verification_finds_nothing(
    client, organisation_with_everything
):
    from tests.factories import make_verification
    from verification.models import Verification

    waiting = make_verification(organisation_with_everything, started=timezone.now())
    done = make_verification(
        organisation_with_everything,
        outcome=Verification.State.VERIFIED,
        started=timezone.now(),
    )

    assert client.get(link_to(waiting.public_id)).status_code == 404
    assert client.get(f"/receipts/{done.public_id}/?c=x").status_code == 404
    assert client.get(f"/receipts/{done.public_id}/").status_code == 404
    assert client.get(link_to(done.public_id)).status_code == 200


# --- the command -------------------------------------------------------------------------


def test_verify_receipt_checks_offline_against_a_saved_jwks(
    client, organisation_with_everything, sms_outbox, tmp_path, capsys
):
    make_beneficiary(name=NAME, mobile=MOBILE)
    receipt = api_receipt(client, organisation_with_everything, sms_outbox)["receipt"]
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(client.get("/.well-known/jwks.json").content.decode())
    receipt_file = tmp_path / "receipt.txt"
    receipt_file.write_text(receipt + "\n")

    call_command("verify_receipt", str(receipt_file), "--jwks", str(jwks_file))

    out = capsys.readouterr().out
    assert "Valid: signed with key" in out
    assert json.loads(out[: out.rindex("}") + 1])["aud"] == str(
        organisation_with_everything.public_id
    )
    with pytest.raises(CommandError, match="altered or forged"):
        call_command("verify_receipt", flip_one_byte(receipt, 2), "--jwks", str(jwks_file))


def test_verify_receipt_refuses_a_receipt_whose_key_is_not_in_the_jwks(key_dir, tmp_path):
    receipt = receipts.sign(claims_now())
    other = tmp_path / "other.json"
    other.write_text(
        json.dumps(
            {
                "keys": [
                    {
                        "kty": "OKP",
                        "crv": "Ed25519",
                        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                        "kid": "someone-else",
                    }
                ]
            }
        )
    )

    with pytest.raises(CommandError, match="not signed by a KYVS key"):
        call_command("verify_receipt", receipt, "--jwks", str(other))


def test_verify_receipt_says_when_the_jwks_file_cannot_be_read(key_dir, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{")

    with pytest.raises(CommandError, match="Cannot read the JWKS file"):
        call_command("verify_receipt", receipts.sign(claims_now()), "--jwks", str(broken))


# --- the web result ----------------------------------------------------------------------


def test_the_web_result_shows_the_receipt_as_a_qr_code_and_offers_it_for_download(
    client, bob, organisation, sms_outbox
):
    make_beneficiary(name=NAME, mobile=MOBILE)
    client.force_login(bob)
    start = client.post(
        "/verify/", {"full_name": NAME, "mobile_number": MOBILE, "purpose": "travel"}
    )
    consent = client.post(start["Location"], {"otp": otp_from(sms_outbox[-1])})

    page = client.get(consent["Location"]).content.decode()

    assert '<svg viewBox="0 0' in page and 'class="receipt-qr"' in page
    assert "<script" not in page.split("</main>")[0]
    receipt = page.split('id="receipt-text"')[1].split(">", 1)[1].split("</textarea>")[0]
    check = receipts.verify(receipt.strip(), issuer="KYVS")
    assert check.valid
    assert check.claims["aud"] == str(organisation.public_id)
    assert f'href="data:text/plain;charset=utf-8,{receipt.strip()}"' in page
    assert f'download="kyvs-receipt-{check.claims["sub"]}.txt"' in page


def test_the_jwks_is_public_and_cacheable_for_a_short_while(client, key_dir):
    response = client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age=300" in response["Cache-Control"]
    assert [k["kty"] for k in response.json()["keys"]] == ["OKP"]


def test_receipt_qr_codes_with_the_fixed_mask_read_back_for_many_links():
    """Every mask is a valid QR code; this checks a reader agrees, for links of the lengths
    a receipt's link has (verification.templatetags.receipts.QR_MASK)."""
    hosts = ["http://localhost:8000", "https://kyvs.example.gov.in", "https://k.in"]
    for n in range(60):
        verification_id = uuid.UUID(int=n * 0x9E3779B97F4A7C15F39CC0605CEDC835 % 2**128)
        check = receipts.link_check(str(verification_id))
        link = f"{hosts[n % 3]}/receipts/{verification_id}/?c={check}"
        code = qr_code(link)
        assert code.mask == QR_MASK
        png = io.BytesIO()
        code.save(png, kind="png", scale=4, border=4)
        png.seek(0)
        [barcode] = zxingcpp.read_barcodes(Image.open(png), formats=zxingcpp.BarcodeFormat.QRCode)
        assert barcode.text == link
