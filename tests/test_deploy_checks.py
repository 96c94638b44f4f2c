"""Production settings are hardened: `check --deploy` is clean and the headers say so."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import make_member, make_organisation

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def signing_key_file(tmp_path_factory) -> str:
    """Production is given its receipt-signing key; it does not make one."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = tmp_path_factory.mktemp("keys") / "signing-key.pem"
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path)


def production_env(**overrides) -> dict[str, str]:
    """The environment of a production server: nothing from the test run's own settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "KYVS_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="kyvs.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="kyvs.example.in",
        REDIS_URL="redis://127.0.0.1:6379/0",
        KYVS_SITE_URL="https://kyvs.example.in",
        KYVS_DATA_FIDUCIARY_NAME="Health Department, Government of Gujarat",
        KYVS_GRIEVANCE_OFFICER_NAME="Meera Shah",
        KYVS_GRIEVANCE_OFFICER_EMAIL="grievance@kyvs.example.in",
    )
    env.update(overrides)
    return env


def run_deploy_check(signing_key_file: str, **overrides) -> subprocess.CompletedProcess:
    overrides.setdefault("KYVS_SIGNING_KEY_FILE", signing_key_file)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(**overrides),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_the_deploy_check_with_no_warning(signing_key_file):
    result = run_deploy_check(signing_key_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_deploy_check_fails_when_hsts_is_switched_off(signing_key_file):
    # Proves the check above would catch a weakened setting.
    result = run_deploy_check(signing_key_file, KYVS_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "site_url", ["http://localhost:8000", "http://kyvs.example.in", "https://localhost"]
)
def test_the_deploy_check_warns_when_sms_links_would_not_be_public_https(
    signing_key_file, site_url
):
    result = run_deploy_check(signing_key_file, KYVS_SITE_URL=site_url)
    assert result.returncode != 0
    assert "kyvs.W001" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ({"KYVS_DATA_FIDUCIARY_NAME": ""}, "KYVS_DATA_FIDUCIARY_NAME"),
        ({"KYVS_GRIEVANCE_OFFICER_NAME": ""}, "KYVS_GRIEVANCE_OFFICER_NAME"),
        ({"KYVS_GRIEVANCE_OFFICER_EMAIL": ""}, "KYVS_GRIEVANCE_OFFICER_EMAIL or"),
    ],
)
def test_the_deploy_check_warns_when_the_privacy_notice_lacks_the_fiduciary_or_officer(
    signing_key_file, unset, named
):
    result = run_deploy_check(signing_key_file, **unset)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "kyvs.W002" in output and named in output


def test_a_grievance_officer_reached_by_telephone_alone_is_enough(signing_key_file):
    result = run_deploy_check(
        signing_key_file,
        KYVS_GRIEVANCE_OFFICER_EMAIL="",
        KYVS_GRIEVANCE_OFFICER_PHONE="1800 11 4377",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_bad_proxy_ssl_header_stops_start_up_naming_the_variable(signing_key_file):
    result = run_deploy_check(signing_key_file, KYVS_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert result.returncode != 0
    assert "KYVS_PROXY_SSL_HEADER" in result.stderr


@pytest.fixture
def operator_client(client, db):
    organisation = make_organisation()
    client.force_login(make_member(organisation))
    return client


def csp_of(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:]
        for part in (p.strip() for p in header.split(";"))
        if part
    }


@pytest.mark.parametrize("url", ["/accounts/login/", "/verify/"])
def test_pages_carry_a_content_security_policy_without_unsafe_inline(operator_client, url):
    response = operator_client.get(url)
    assert response.status_code == 200
    policy = csp_of(response)
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_pages_refuse_framing_and_leak_no_referrer_off_site(operator_client):
    response = operator_client.get("/verify/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script_or_style(operator_client):
    # A CSP without 'unsafe-inline' would block them, so the page would break silently.
    for url in ["/accounts/login/", "/verify/"]:
        html = operator_client.get(url).content.decode()
        assert "<style" not in html
        assert " style=" not in html
        for tag in html.split("<script")[1:]:
            assert " src=" in tag.split(">")[0], f"inline script on {url}"
        assert " onclick=" not in html and " onchange=" not in html and " onsubmit=" not in html


INLINE = [
    (re.compile(r"<style", re.I), "an inline <style>"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


@pytest.mark.parametrize(
    "template", sorted((ROOT / "templates").rglob("*.html")), ids=lambda p: p.name
)
def test_no_template_has_inline_script_or_style(template):
    source = template.read_text(encoding="utf-8")
    for pattern, what in INLINE:
        match = pattern.search(source)
        assert match is None, f"{template.relative_to(ROOT)} has {what}: {match.group(0)!r}"


def test_the_login_form_is_protected_by_csrf(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "x", "password": "y"}
    )
    assert response.status_code == 403
