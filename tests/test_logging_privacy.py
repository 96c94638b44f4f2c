"""No personal data or secret in the logs: whole flows are logged at DEBUG and searched for
each secret, and the filter behind every handler masks what might still slip through."""

import io
import json
import logging
import re

import pytest
from django.conf import settings

from kyvs.logging import JsonFormatter, RedactingFilter, redact
from tests.conftest import otp_from
from tests.factories import make_beneficiary
from verification.models import Verification

PASSWORD = "password-for-tests"  # the factories' password for every user


def logged_text(records) -> str:
    """Everything a log handler could write: messages, `extra=` fields and exceptions."""
    formatter = JsonFormatter()
    return "\n".join(formatter.format(record) for record in records)


@pytest.fixture
def captured(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def sign_in(client, username, password=PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_a_whole_verification_logs_no_mobile_code_name_session_or_password(
    client, captured, bob, sms_outbox
):
    citizen = make_beneficiary(name="Meera Rajendrakumar Joshi", mobile="9123456780")

    assert sign_in(client, "bob", "not-the-password").status_code == 200
    assert sign_in(client, "bob").status_code == 302
    response = client.post(
        "/verify/",
        {"full_name": citizen.name, "mobile_number": "+91 91234-56780", "purpose": "travel"},
    )
    assert response.status_code == 302
    verification = Verification.objects.get()
    code = otp_from(sms_outbox[-1])
    wrong = "000000" if code != "000000" else "111111"
    consent = f"/verify/{verification.public_id}/"
    assert client.post(consent, {"otp": wrong}).status_code == 422
    assert client.post(consent, {"otp": code}).status_code == 302
    assert client.get(f"{consent}result/").status_code == 200
    session_key = client.session.session_key

    text = logged_text(captured.records)
    assert captured.records, "the flow logged nothing: the search below would prove nothing"
    for secret in [
        "9123456780",
        "91234-56780",
        code,
        citizen.name,
        citizen.name.casefold(),
        "Joshi",
        session_key,
        PASSWORD,
        "not-the-password",
        client.cookies["csrftoken"].value if "csrftoken" in client.cookies else session_key,
    ]:
        assert secret not in text, f"{secret!r} was logged"


def test_sign_ins_are_logged_by_user_id_and_failures_by_a_keyed_hash(client, captured, bob):
    sign_in(client, "bob", "not-the-password")
    sign_in(client, "bob")
    audit = [r for r in captured.records if r.name == "kyvs.audit"]
    failed = next(r for r in audit if r.event == "login_failed")
    succeeded = next(r for r in audit if r.event == "login")
    assert succeeded.user_id == bob.pk
    assert failed.account not in ("bob", "unknown")
    assert re.fullmatch(r"[0-9a-f]{16}", failed.account)
    assert failed.ip == "127.0.0.1"
    assert "bob" not in logged_text(audit)


def test_the_same_username_gives_the_same_hash_so_failures_can_be_grouped(client, captured, db):
    sign_in(client, "nobody-here", "x")
    sign_in(client, "Nobody-Here", "y")
    failed = [r for r in captured.records if getattr(r, "event", "") == "login_failed"]
    assert len(failed) == 2
    assert failed[0].account == failed[1].account


def test_admin_decisions_are_logged_without_the_objects_text(captured, registry_admin):
    from django.contrib.admin.models import CHANGE, LogEntry

    from tests.factories import make_organisation

    organisation = make_organisation(name="Hotel Secret Name")
    LogEntry.objects.log_actions(
        registry_admin.pk,
        [organisation],
        CHANGE,
        change_message=[{"changed": {"fields": ["state"]}}],
        single_object=True,
    )
    line = next(r for r in captured.records if getattr(r, "event", "") == "admin_action")
    assert line.user_id == registry_admin.pk
    assert line.action == "change"
    assert line.object_type == "providers.organisation"
    assert str(line.object_id) == str(organisation.pk)
    assert line.fields == ["state"]
    assert "Hotel Secret Name" not in logged_text([line])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SMS to 9876543210 failed", "SMS to ******3210 failed"),
        ("to +91 98765-43210.", "to ******3210."),
        ("mobile=09876543210", "mobile=******3210"),
        ("code 123456 sent", "code [redacted] sent"),
        ("key kyvs_1a2b3c4d_Zx9-secretpart_ok used", "key kyvs_1a2b3c4d_[redacted] used"),
        ("Authorization: Bearer abc.def.ghi", "Authorization: [redacted]"),
        ("password=hunter2&x=1", "password=[redacted]&x=1"),
        ("session 3k9x0m2p7q1w8e4r5t6y7u8i9o0p1a2s", "session [redacted]"),
        ("Gone: /c/_KGIuWNaGoWhsH58UcNmWA", "Gone: /c/[redacted]"),
        ("Gone: /c/abcdefghijklmnopqrstuv", "Gone: /c/[redacted]"),
        ("Gone: /c/5J5RrrVkTTyS6N8dWnS7Cg/_KGIuWNaGoWhsH58UcNmWA", "Gone: /c/[redacted]"),
        ("verification 4f1c2b7e-9d3a-4e21-8c55-0b6a7d9e2f10 failed", None),
        ("started 12 verifications in 2024", None),
        ("OrganisationAdminConfiguration ready", None),
    ],
)
def test_the_filter_masks_mobiles_codes_keys_and_tokens_and_leaves_the_rest(text, expected):
    assert redact(text) == (text if expected is None else expected)


def test_the_filter_redacts_arguments_extras_and_exceptions():
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "SMS to %s: %s", None, None)
    record.args = ("9876543210", "your code is 654321")
    record.mobile = "9876543210"
    try:
        raise ValueError("bad mobile 9876543210")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "9876543210" not in line
    assert "654321" not in line
    entry = json.loads(line)
    assert entry["message"] == "SMS to ******3210: your code is [redacted]"
    assert entry["mobile"] == "******3210"
    assert "******3210" in entry["exception"]


def test_json_lines_carry_time_level_logger_message_and_extras():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("kyvs.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("over the limit for %s", "9876543210", extra={"event": "limit"})
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "kyvs.test.json"
    assert entry["message"] == "over the limit for ******3210"
    assert entry["event"] == "limit"
    assert entry["time"].endswith("+00:00")


def test_every_configured_handler_masks_through_the_filter():
    handlers = settings.LOGGING["handlers"]
    assert handlers
    for name, handler in handlers.items():
        assert "redact" in handler.get("filters", []), name


def test_production_logs_are_json_by_default():
    import subprocess
    import sys

    env = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_SETTINGS_MODULE": "kyvs.settings",
        "KYVS_SIGNING_KEY_GENERATE": "true",
        "KYVS_SIGNING_KEY_FILE": "/dev/null/none",
        "PATH": "/usr/bin:/bin",
    }
    code = "from django.conf import settings; print(settings.KYVS_LOG_FORMAT)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=60,
    )
    assert result.stdout.strip() == "json", result.stderr
