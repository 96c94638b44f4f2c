"""What the scripts of scripts/ share: their throwaway databases and Redis keys, gunicorn on
loopback, HTTP requests to it, timing requests of several kinds interleaved at random, and
the load average.

A script run as `python scripts/<name>.py` has its own folder first on sys.path, so it
imports this module as `_bench`. Only the standard library is imported here at first;
psycopg and Django are imported by the functions that use them, when they are called.
"""

import argparse
import http.client
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote_plus, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
LOCAL_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


# --- the servers: which, and the throwaway database on them ------------------------------


def add_server_arguments(
    parser: argparse.ArgumentParser, *, database_name: str, redis_db: int | None
) -> None:
    """Add --database-url (default: DATABASE_URL, else LOCAL_SERVER), --database-name
    (default `database_name`) and, unless `redis_db` is None, --redis-url (default:
    database `redis_db` of the Redis on 127.0.0.1:6379) to `parser`."""
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", LOCAL_SERVER),
        help="a PostgreSQL server on loopback to create --database-name on; the database "
        "this URL names is only connected to",
    )
    parser.add_argument(
        "--database-name", default=database_name, help="made at the start, dropped at the end"
    )
    if redis_db is not None:
        parser.add_argument("--redis-url", default=f"redis://127.0.0.1:6379/{redis_db}")


def check_server_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse through `parser.error` (exit status 2) the arguments of add_server_arguments
    that could reach data not the script's own: a server not on loopback, a --database-url
    that is not PostgreSQL's, Redis database 0 (every program's default), and a
    --database-name other than lower-case letters, digits and _ (it is put into SQL)."""
    redis_url = getattr(args, "redis_url", None)
    for url in (args.database_url, redis_url):
        if url is not None and urlsplit(url).hostname not in LOOPBACK:
            parser.error(f"{url}: loopback only")
    if not urlsplit(args.database_url).scheme.startswith("postgres"):
        parser.error("--database-url must name a PostgreSQL server")
    if redis_url is not None and urlsplit(redis_url).path.strip("/") in {"", "0"}:
        default = urlsplit(parser.get_default("redis_url")).path
        parser.error(f"use a Redis database of its own (e.g. {default}), not db 0")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.database_name):
        parser.error("--database-name: lower-case letters, digits and _ only")


def with_database(url: str, name: str) -> str:
    """`url`, a database URL, naming the database `name` instead: the same server, user,
    password and options. with_database("postgres://postgres@127.0.0.1:5432/postgres",
    "kyvs_bench") is "postgres://postgres@127.0.0.1:5432/kyvs_bench"."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def create_database(maintenance, name: str) -> None:
    """The database `name` made anew, empty, on the server of `maintenance` (a psycopg
    connection in autocommit mode to another database of that server): one left by an
    earlier run is dropped first, its sessions ended."""
    drop_database(maintenance, name)
    from psycopg import sql

    maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(maintenance, name: str) -> None:
    """The database `name` dropped if it exists, its sessions ended (WITH (FORCE));
    `maintenance` as for create_database."""
    from psycopg import sql

    maintenance.execute(
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    )


def forget_keys(cache) -> None:
    """Every key the portal made (prefix kyvs:) deleted from the Redis database that
    `cache`, a redis.Redis client, is connected to."""
    for key in cache.scan_iter("kyvs:*", count=1000):
        cache.delete(key)


# --- the portal on loopback: its settings, gunicorn, requests to it ---------------------


def production_env(folder: Path, allowed_host: str) -> dict[str, str]:
    """The environment that runs kyvs/settings.py's production settings (DEBUG off) over
    plain HTTP on this machine: `allowed_host` the only host name, no redirect to HTTPS,
    cookies not marked Secure, a secret key made for the run, and a signing key generated
    into `folder`. The database, Redis and anything else are the caller's to add."""
    return {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": allowed_host,
        "KYVS_SSL_REDIRECT": "false",
        "KYVS_SECURE_COOKIES": "false",
        "KYVS_SIGNING_KEY_FILE": str(folder / "signing-key.pem"),
        "KYVS_SIGNING_KEY_GENERATE": "true",
    }


def free_port() -> int:
    """A TCP port of HOST that nothing listens on at the time of asking."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def request(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: dict | None = None,
    body: str | bytes | None = None,
    timeout: float = 30,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers as a list of pairs, body) of one request to HOST:`port` on a new
    connection; OSError (TimeoutError after `timeout` seconds of silence) if it fails."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def cookies_of(headers: list[tuple[str, str]]) -> dict[str, str]:
    """{name: value} of the cookies that a response's Set-Cookie headers set."""
    return dict(
        value.split(";", 1)[0].split("=", 1) for name, value in headers if name == "Set-Cookie"
    )


def form_token(body: bytes) -> str:
    """The CSRF token of the first form in an HTML page; AttributeError if it has none."""
    return re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()


def sign_in(port: int, username: str, password: str, timeout: float = 30) -> tuple[str, str]:
    """Sign `username` in through the portal's real login form at HOST:`port`, each
    request waiting up to `timeout` seconds: (the key of the session made, the CSRF cookie
    that goes with it). SystemExit if the form does not answer 200, or the sign-in answers
    otherwise than 302 with a session."""
    status, headers, body = request(port, "/accounts/login/", timeout=timeout)
    if status != 200:
        raise SystemExit(f"the login form answered {status}")
    csrf = cookies_of(headers)["csrftoken"]
    status, headers, _ = request(
        port,
        "/accounts/login/",
        method="POST",
        body=f"username={username}&password={quote_plus(password)}"
        f"&csrfmiddlewaretoken={form_token(body)}",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
        },
        timeout=timeout,
    )
    session = cookies_of(headers).get("sessionid")
    if status != 302 or not session:
        raise SystemExit(f"signing in {username} answered {status} without a session")
    return session, csrf


class Gunicorn:
    """gunicorn on a free loopback port (`port`) with the command-line `options`, run from
    the repository with the environment `env`, its output appended to the file `log`;
    started and stopped by the script that makes it only."""

    def __init__(self, options: list[str], env: dict, log: Path):
        self.port = free_port()
        self.log_path = log
        self.log = open(log, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and options)
            [sys.executable, "-m", "gunicorn", f"--bind={HOST}:{self.port}", *options],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        """Return once /healthz answers 200; SystemExit, with the end of the log, if
        gunicorn exits or has not answered within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if request(self.port, "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(
            f"gunicorn did not answer /healthz within {timeout:.0f} s:\n{self.tail()}"
        )

    def tail(self) -> str:
        """The last 3,000 characters of the log."""
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def workers_booted(self) -> int:
        """Workers started so far (gunicorn logs each), the first ones included."""
        self.log.flush()
        return self.log_path.read_text(errors="replace").count("Booting worker with pid")

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if gunicorn has not exited 30 s later; the log closed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# --- timing requests in this process, through Django's test client ----------------------


def use_test_settings() -> None:
    """Make the repository importable and, unless the environment says otherwise, Django's
    settings the test suite's (kyvs.test_settings) with only errors logged. Before Django
    is set up."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyvs.test_settings")
    os.environ.setdefault("KYVS_LOG_LEVEL", "ERROR")


def raise_start_limits() -> None:
    """The limits on starts (per mobile an hour and a day, per operator or API key) raised
    to 1,000,000, out of the way of a script that times starts, not limits. Before Django
    is set up."""
    for name in ["KYVS_OTPS_PER_MOBILE_PER_HOUR", "KYVS_OTPS_PER_MOBILE_PER_DAY"]:
        os.environ[name] = "1000000"
    os.environ["KYVS_STARTS_PER_ACTOR"] = "1000000"


@contextmanager
def throwaway_test_database() -> Iterator[None]:
    """Django's test environment (mail kept in memory, the test client's host name
    "testserver" allowed) and a test database made with the migrations, as pytest-django
    makes one (in memory for SQLite, test_<name> on PostgreSQL), destroyed on leaving.
    Django must be set up."""
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def timed(
    requests: dict[str, list], send: Callable, rng: random.Random | None = None
) -> dict[str, list[float]]:
    """Send every item of each kind through `send(kind, item)`, the kinds interleaved at
    random (shuffled by `rng`, else by the random module); the milliseconds each took, by
    kind. The lists of `requests` are emptied."""
    order = [kind for kind, items in requests.items() for _ in items]
    (rng or random).shuffle(order)
    timings: dict[str, list[float]] = {kind: [] for kind in requests}
    for kind in order:
        item = requests[kind].pop()
        began = time.perf_counter()
        send(kind, item)
        timings[kind].append((time.perf_counter() - began) * 1000)
    return timings


def time_starts(
    client, people: dict[str, list[tuple[str, str]]], rng: random.Random | None = None
) -> dict[str, list[float]]:
    """Start a verification (POST /verify/, purpose travel) with `client`, a test client
    signed in as an operator, for each (full name, mobile) of each kind of `people`,
    interleaved as by timed; the milliseconds of each, by kind. AssertionError if a start
    does not answer 302."""

    def start(kind: str, person: tuple[str, str]) -> None:
        name, mobile = person
        response = client.post(
            "/verify/", {"full_name": name, "mobile_number": mobile, "purpose": "travel"}
        )
        assert response.status_code == 302, response.status_code

    return timed(people, start, rng)


def percentile(values: list[float], p: float) -> float:
    """The `p`-th percentile (0 to 100) of `values`, nearest rank, never past the last."""
    ordered = sorted(values)
    return ordered[min(int(round(p / 100 * (len(ordered) - 1))), len(ordered) - 1)]


# --- the machine ------------------------------------------------------------------------


def load_average(decimals: int = 2) -> str:
    """The load averages over 1, 5 and 15 minutes, e.g. "0.52 0.71 0.44"."""
    return " ".join(f"{x:.{decimals}f}" for x in os.getloadavg())
