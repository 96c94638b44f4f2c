"""Production serving: gunicorn.conf.py, its access log without secrets, whitenoise's
compressed and long-cached static files, and cached templates.

The server tests start the real thing once: production settings (DEBUG off, whitenoise's
manifest storage, collectstatic into a temporary STATIC_ROOT) under
`gunicorn -c gunicorn.conf.py kyvs.wsgi`, with an empty SQLite database and the
local-memory cache, which is all that the requests below need.
"""

import gzip
import os
import re
import runpy
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.template import engines
from django.urls import URLPattern, URLResolver, get_resolver

from kyvs.access_log import REDACTED, mask_path
from tests.processes import Process, free_port, wait_until_serving
from tests.test_deploy_checks import production_env, signing_key_file  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
CONF = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
YEAR = 365 * 24 * 3600


# gunicorn.conf.py


def test_workers_are_twice_the_cores_plus_one():
    assert CONF["worker_count"]({}, 2) == 5
    assert CONF["worker_count"]({}, 16) == 33
    if "WEB_CONCURRENCY" not in os.environ:
        assert CONF["workers"] == 2 * CONF["cores"]() + 1


def test_web_concurrency_sets_the_workers_and_a_bad_value_is_refused():
    assert CONF["worker_count"]({"WEB_CONCURRENCY": "3"}, 2) == 3
    for bad in ("0", "three", "-1"):
        with pytest.raises(ValueError, match="WEB_CONCURRENCY"):
            CONF["worker_count"]({"WEB_CONCURRENCY": bad}, 2)


def test_database_connections_count_one_per_worker_and_database():
    assert CONF["database_connections"](5, 0) == {"primary": 5, "each_replica": 0}
    assert CONF["database_connections"](5, 2) == {"primary": 5, "each_replica": 5}


def test_workers_are_recycled_with_jitter_and_killed_when_stuck():
    assert CONF["max_requests"] > 0
    assert 0 < CONF["max_requests_jitter"] < CONF["max_requests"]
    assert CONF["timeout"] == 30
    assert CONF["worker_class"] == "sync"


def test_the_application_is_loaded_once_before_the_workers_are_forked():
    assert CONF["preload_app"] is True


def test_the_access_log_format_has_no_request_line_query_or_referrer():
    fmt = CONF["access_log_format"]
    assert "%(U)s" in fmt
    for atom in ("%(r)s", "%(q)s", "%(f)s", "}i", "}e"):
        assert atom not in fmt
    assert CONF["logger_class"] == "kyvs.access_log.MaskingLogger"


# Secrets in paths


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/s/Xk3-tok_en/", f"/s/{REDACTED}/"),
        ("/s/Xk3-tok_en/receipt.pdf", f"/s/{REDACTED}/receipt.pdf"),
        ("/c/Xk3token", f"/c/{REDACTED}"),
        ("/c/5J5RrrVkTTyS6N8dWnS7Cg/Xk3token", f"/c/{REDACTED}/{REDACTED}"),
        ("/embed/s/Xk3token", f"/embed/s/{REDACTED}"),
        ("/verify/state/ImFiYyI:1xY6RX:hTWq1O2q/", f"/verify/state/{REDACTED}/"),
        ("/accounts/invitation/Xk3token/", f"/accounts/invitation/{REDACTED}/"),
        (
            "/accounts/password-reset/MQ/abc-123def/",
            f"/accounts/password-reset/{REDACTED}/{REDACTED}/",
        ),
        ("/accounts/password-reset/sent/", "/accounts/password-reset/sent/"),
        (
            "/verify/3fa85f64-5717-4562-b3fc-2c963f66afa6/",
            "/verify/3fa85f64-5717-4562-b3fc-2c963f66afa6/",
        ),
        ("/static/css/app.0123abcd.css", "/static/css/app.0123abcd.css"),
        ("/sx/abc/", "/sx/abc/"),
    ],
)
def test_secret_path_segments_are_masked_and_nothing_else(path, logged):
    assert mask_path(path) == logged


def _routes(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            # The admin's paths hold primary keys of admin objects, behind staff sign-in.
            if entry.namespace != "admin":
                yield from _routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route


SAMPLE = {"uuid": str(uuid.UUID(int=7)), "int": "7"}


def test_every_url_argument_that_is_not_a_public_id_is_masked_in_the_access_log():
    checked = 0
    for route in _routes(get_resolver()):
        arguments = re.findall(r"<(?:(\w+):)?(\w+)>", route)
        secret_kinds = [(kind or "str", name) for kind, name in arguments if kind not in SAMPLE]
        if not secret_kinds:
            continue
        path = "/" + re.sub(
            r"<(?:(\w+):)?(\w+)>",
            lambda m: SAMPLE.get(m.group(1) or "str", f"SECRET{m.group(2)}x9"),
            route,
        )
        checked += 1
        assert "SECRET" not in mask_path(path), f"{route}: add it to SECRET_IN_PATH"
    assert checked >= 2  # the invitation and the password-reset links today


# Templates


def test_templates_are_compiled_once_and_then_served_from_the_cached_loader():
    engine = engines["django"].engine
    [loader] = engine.template_loaders
    assert type(loader).__module__ + "." + type(loader).__name__ == (
        "django.template.loaders.cached.Loader"
    )
    first = engine.get_template("base.html")
    assert engine.get_template("base.html") is first


# The server


@pytest.fixture(scope="module")
def server(tmp_path_factory, signing_key_file):  # noqa: F811
    folder = tmp_path_factory.mktemp("serving")
    (folder / "serving_settings.py").write_text(
        f"from kyvs.settings import *  # noqa: F403\nSTATIC_ROOT = {str(folder / 'static')!r}\n"
    )
    env = production_env(
        PYTHONPATH=f"{folder}:{ROOT}",
        DJANGO_SETTINGS_MODULE="serving_settings",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        KYVS_SSL_REDIRECT="false",
        KYVS_SIGNING_KEY_FILE=signing_key_file,
        DATABASE_URL=f"sqlite:///{folder / 'serving.sqlite3'}",
        REDIS_URL="",
        WEB_CONCURRENCY="1",
    )
    for command in (["collectstatic", "--noinput", "-v0"], ["migrate", "--noinput", "-v0"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, timeout=300
        )
    port = free_port()
    log = folder / "gunicorn.log"
    args = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "kyvs.wsgi"]
    process = Process("gunicorn", [*args, "--bind", f"127.0.0.1:{port}"], env, log).start()
    try:
        wait_until_serving(process, f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}", folder, log
    finally:
        process.stop()


def get(url: str, **headers):
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        response = urllib.request.urlopen(request, timeout=15)  # noqa: S310
    except urllib.error.HTTPError as error:
        response = error
    with response:
        return response.status, response.headers, response.read()


def hashed_name(folder: Path, original: str) -> str:
    import json

    manifest = json.loads((folder / "static" / "staticfiles.json").read_text())
    return manifest["paths"][original]


def test_the_server_starts_from_the_conf_file_and_states_its_connection_budget(server):
    _, _, log = server
    text = log.read_text()
    assert "1 sync workers on" in text
    assert "at most 1 PostgreSQL connections to the primary" in text  # one per worker


def test_hashed_static_files_are_cached_for_at_least_a_year_and_served_compressed(server):
    base, folder, _ = server
    css = hashed_name(folder, "css/kyvs.css")
    status, headers, body = get(f"{base}/static/{css}", **{"Accept-Encoding": "gzip"})
    assert status == 200
    max_age = int(re.search(r"max-age=(\d+)", headers["Cache-Control"]).group(1))
    assert max_age >= YEAR
    assert "immutable" in headers["Cache-Control"]
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == (folder / "static" / css).read_bytes()


def test_a_static_file_under_its_unhashed_name_is_cached_briefly(server):
    base, _, _ = server
    status, headers, _ = get(f"{base}/static/css/kyvs.css")
    assert status == 200
    assert int(re.search(r"max-age=(\d+)", headers["Cache-Control"]).group(1)) < 3600


def test_the_access_log_shows_paths_without_their_secrets(server):
    base, _, log = server
    get(
        f"{base}/accounts/invitation/INVITESECRET1/?next=QUERYSECRET2",
        Referer=f"{base}/s/REFERERSECRET3/?x=QUERYSECRET4",
        Authorization="Bearer AUTHSECRET5",
        **{"X-Api-Key": "kyvs_0123abcd_KEYSECRET6"},
    )
    get(f"{base}/s/SHARESECRET7/")
    deadline = time.monotonic() + 15
    while "/s/[redacted]/ HTTP" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.05)  # between polls only: gunicorn writes the line after the answer
    access = [line for line in log.read_text().splitlines() if ACCESS_LINE.match(line)]
    assert access
    assert not [line for line in access if "SECRET" in line]
    assert '"GET /accounts/invitation/[redacted]/ HTTP/1.1" 410' in "\n".join(access)
    assert '"GET /s/[redacted]/ HTTP/1.1" 404' in "\n".join(access)


# The access format: address "METHOD path protocol" status bytes time "agent"
ACCESS_LINE = re.compile(r'^\S+ "[A-Z]+ \S+ HTTP/[\d.]+" \d{3} ')
