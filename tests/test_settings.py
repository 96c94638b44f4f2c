"""Start-up refuses a bad setting and names the variable, instead of failing later."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def check_with(**env) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KYVS_", "DJANGO_")) and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    base.update({"DJANGO_SETTINGS_MODULE": "kyvs.settings", "DJANGO_DEBUG": "true"})
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_development_defaults_start():
    run = check_with()
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DJANGO_DEBUG", "maybe"),
        ("KYVS_OTP_TTL_SECONDS", "three minutes"),
        ("KYVS_OTP_TTL_SECONDS", "5"),
        ("KYVS_OTP_MAX_ATTEMPTS", "0"),
        ("KYVS_OTP_RESEND_AFTER_SECONDS", "-1"),
        ("KYVS_OTP_MAX_RESENDS", "2.5"),
        ("KYVS_SMS_BACKEND", "pigeon"),
        ("KYVS_EMAIL_BACKEND", "pigeon"),
        ("KYVS_TASK_BACKEND", "later"),
        ("KYVS_LOG_FORMAT", "xml"),
        ("KYVS_LOG_LEVEL", "LOUD"),
        ("DATABASE_URL", "mysterydb://somewhere/kyvs"),
        ("REDIS_URL", "127.0.0.1:6379"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(variable, value):
    run = check_with(**{variable: value})
    assert run.returncode != 0
    assert "ImproperlyConfigured" in run.stderr
    assert variable in run.stderr.splitlines()[-1]


def test_production_without_a_secret_key_does_not_start():
    run = check_with(DJANGO_DEBUG="false")
    assert run.returncode != 0
    assert "DJANGO_SECRET_KEY" in run.stderr.splitlines()[-1]


def test_the_http_sms_backend_needs_its_gateway_url():
    run = check_with(KYVS_SMS_BACKEND="http")
    assert run.returncode != 0
    assert "KYVS_SMS_HTTP_URL" in run.stderr.splitlines()[-1]
