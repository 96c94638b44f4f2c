#!/usr/bin/env python
"""How many Redis commands, and how many SQL statements and writes, each request of a
verification makes: the `k_e` of docs/scaling.md's sizing, counted, not estimated.

    python scripts/count_redis_commands.py
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]
        [--database-name kyvs_redis_count] [--redis-url redis://127.0.0.1:6379/12]

One operator's sign-in and one verification on each channel (the hosted page, the API),
sent one request at a time through Django's test client (the whole middleware stack, in
this process) with the production settings (kyvs/settings.py, DJANGO_DEBUG off) on
PostgreSQL and Redis, while a Redis MONITOR connection records every command sent to the
Redis database of --redis-url. Between two requests the script sends a marker (ECHO) on a
connection of its own, so each command is counted against the request that sent it. The
SMS jobs run where production runs them, in the task queue's worker (`run_worker --batch`,
here in this process), and are counted as rows of their own.

What differs from a production server, none of which sends a Redis command or an SQL
statement: the test client's host name is allowed, HTTPS is not required, the static files
are served without the manifest (no collectstatic), CSRF tokens are not checked (the test
client's default), and SMS are kept in memory (the locmem backend) so that the code can be
typed.

A command is counted once as sent; the commands that a Lua script runs inside Redis are
listed apart, as "in Lua" (django-redis's `incr` is an EVAL that runs EXISTS then INCRBY).
Everything is on loopback and bounded (one flow); the database is made, used and dropped,
and the Redis keys it made (prefix kyvs) are deleted before and after. db 0 is refused.

Prints a Markdown table: one row per request, with the Redis commands by name, the SQL
statements, the writes among them and the transactions that wrote.
"""

import argparse
import collections
import os
import re
import secrets
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import _bench

MARK = "kyvs-count-mark"
OPERATOR, PASSWORD = "count-operator", secrets.token_urlsafe(16)
PURPOSE = "travel"
# The settings of a production server, with the static files served without their manifest
# (nothing here reads Redis or the database).
SETTINGS = """\
from kyvs.settings import *  # noqa: F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _bench.add_server_arguments(parser, database_name="kyvs_redis_count", redis_db=12)
    args = parser.parse_args(argv)
    _bench.check_server_arguments(parser, args)
    return args


class Recorder:
    """Every command of one Redis database, as MONITOR reports it, split into the requests
    between markers."""

    def __init__(self, redis_url: str):
        import redis

        self.db = int(urlsplit(redis_url).path.strip("/"))
        self.marker = redis.Redis.from_url(redis_url)
        self.monitor = redis.Redis.from_url(redis_url).monitor().__enter__()
        self.lines: list[dict] = []
        self.seen = threading.Condition()
        self.marks = 0
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        for line in self.monitor.listen():
            with self.seen:
                self.lines.append(line)
                if line["command"].startswith(f"ECHO {MARK}"):
                    self.marks += 1
                    self.seen.notify_all()
                if line["command"] == f"ECHO {MARK}:end":
                    return

    def mark(self, label: str) -> None:
        """Everything sent before this belongs to the request before; wait until MONITOR
        has reported the marker, so no command is counted against the wrong request."""
        with self.seen:
            expected = self.marks + 1
        self.marker.echo(f"{MARK}:{label}")
        with self.seen:
            if not self.seen.wait_for(lambda: self.marks >= expected, timeout=10):
                raise RuntimeError("MONITOR did not report the marker")

    def close(self) -> None:
        self.mark("end")
        self.thread.join(timeout=10)
        self.monitor.__exit__(None, None, None)

    def by_request(self) -> dict[str, list[dict]]:
        """{label: the commands of the request sent after the marker `label`}."""
        requests: dict[str, list[dict]] = {}
        current = None
        for line in self.lines:
            if line["db"] != self.db:
                continue
            command = line["command"]
            if command.startswith(f"ECHO {MARK}:"):
                current = command.split(":", 1)[1]
                requests[current] = []
            elif current is not None:
                requests[current].append(line)
        return requests


class SqlCounter:
    """Statements sent to the default database, how many of them write, and how many
    transactions that wrote were committed (each is a WAL flush on the primary): a write
    outside an atomic block is a transaction of its own; the writes of one atomic block
    count once, when it commits (a block rolled back counts none)."""

    def __init__(self, connection):
        self.connection = connection
        self.statements = self.writes = self.commits = 0
        self.pending = False

    def _committed(self) -> None:
        self.pending = False
        self.commits += 1

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        if re.match(r"\s*(INSERT|UPDATE|DELETE)\b", sql, re.IGNORECASE):
            self.writes += 1
            if not self.connection.in_atomic_block:
                self.commits += 1
            elif not self.pending:
                self.pending = True
                self.connection.on_commit(self._committed)
        return execute(sql, params, many, context)


def main() -> None:
    args = parse_args()
    import psycopg
    import redis

    folder = Path(tempfile.mkdtemp(prefix="kyvs-count-redis-"))
    (folder / "count_settings.py").write_text(SETTINGS)
    inherited = ("KYVS_", "DJANGO_", "DATABASE_", "REDIS_")
    for name in [k for k in os.environ if k.startswith(inherited)]:
        del os.environ[name]
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "count_settings",
            **_bench.production_env(folder, "testserver"),
            "KYVS_TASK_BACKEND": "database",
            "KYVS_SMS_BACKEND": "locmem",
            "DATABASE_URL": _bench.with_database(args.database_url, args.database_name),
            "REDIS_URL": args.redis_url,
        }
    )
    sys.path[:0] = [str(folder), str(_bench.ROOT)]
    maintenance = psycopg.connect(args.database_url, autocommit=True)
    cache = redis.Redis.from_url(args.redis_url)
    _bench.create_database(maintenance, args.database_name)
    _bench.forget_keys(cache)
    try:
        rows = run_flow(folder, args)
    finally:
        from django.db import connections

        connections.close_all()
        _bench.drop_database(maintenance, args.database_name)
        _bench.forget_keys(cache)
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    print_table(rows)


def run_flow(folder: Path, args) -> list[tuple]:
    """One sign-in and one verification on each channel; [(label, Redis commands sent, SQL
    statements, SQL writes, transactions that wrote, Redis commands by name)]."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from providers.models import ApiKey, Organisation
    from verification import sms
    from verification.sample_registry import write_big_registry

    call_command("migrate", "--noinput", "-v0")
    call_command(
        "create_provider",
        "--name=Count Travels",
        "--kind=travel_agency",
        f"--purposes={PURPOSE}",
        "--scopes=vaccinations,demographics",
        f"--operator={OPERATOR}",
        f"--password={PASSWORD}",
        stdout=open(os.devnull, "w"),  # noqa: SIM115 (closed with the process)
    )
    registry = folder / "registry.csv"
    write_big_registry(registry, 20)
    call_command("import_registry", str(registry), stdout=open(os.devnull, "w"))  # noqa: SIM115
    organisation = Organisation.objects.get(name="Count Travels")
    _key, raw_key = ApiKey.issue(organisation, "Counting")
    # People 3 and 7 of the synthetic registry (write_big_registry): 3 and 3 doses.
    web_person = {"full_name": "Person Number 3", "mobile_number": "9000000003"}
    api_person = {"full_name": "Person Number 7", "mobile_number": "9000000007"}

    # The process's connection to Redis is opened (and its database selected) before the
    # first request, as a worker that has served one request before has it.
    from django.core.cache import cache

    cache.get("count-warm-up")
    recorder = Recorder(args.redis_url)
    counted: list[tuple[str, SqlCounter]] = []

    def measure(label: str, send):
        recorder.mark(label)
        counter = SqlCounter(connection)
        with connection.execute_wrapper(counter):
            response = send()
        counted.append((label, counter))
        return response

    def expect(response, status: int):
        if response.status_code != status:
            raise RuntimeError(f"{response.status_code}, not {status}: {response.content[:300]}")
        return response

    def worker() -> None:
        call_command("run_worker", "--batch", "--interval", "0", stdout=open(os.devnull, "w"))  # noqa: SIM115

    def last_code() -> str:
        return re.search(r"\b(\d{6})\b", sms.outbox[-1].body).group(1)

    web = Client()
    expect(
        measure("sign-in form, `GET /accounts/login/`", lambda: web.get("/accounts/login/")), 200
    )
    expect(
        measure(
            "sign-in, `POST /accounts/login/`",
            lambda: web.post("/accounts/login/", {"username": OPERATOR, "password": PASSWORD}),
        ),
        302,
    )
    expect(
        measure(
            "operator's form, first page of a minute (idle timeout moved on)",
            lambda: web.get("/verify/"),
        ),
        200,
    )
    started = expect(
        measure(
            "start, `POST /verify/`",
            lambda: web.post("/verify/", {**web_person, "purpose": PURPOSE, "language": "en"}),
        ),
        302,
    )
    consent = started["Location"]
    measure("SMS job (worker, not a request)", worker)
    code = last_code()
    screen = expect(
        measure("customer's screen, `GET /verify/<id>/`", lambda: web.get(consent)), 200
    )
    # The address the screen polls, as drawn into it (a signed token of the verification).
    state = re.search(r'data-poll-url="([^"]+)"', screen.content.decode())[1]
    expect(measure("screen's poll, `GET /verify/state/<token>/`", lambda: web.get(state)), 200)
    expect(measure("screen's poll again", lambda: web.get(state)), 200)
    confirmed = expect(
        measure(
            "confirm, right OTP, `POST /verify/<id>/`", lambda: web.post(consent, {"otp": code})
        ),
        302,
    )
    measure("receipt SMS job (worker, not a request)", worker)
    expect(
        measure("result, `GET /verify/<id>/result/`", lambda: web.get(confirmed["Location"])), 200
    )
    expect(
        measure(
            "operator's form, next customer (language given back)", lambda: web.get("/verify/")
        ),
        200,
    )
    expect(measure("operator's form, once more", lambda: web.get("/verify/")), 200)

    api = Client(headers={"X-Api-Key": raw_key})
    generated = expect(
        measure(
            "API generateOTP, `POST`",
            lambda: api.post(
                "/api/v3/vaccination/generateOTP",
                {
                    "full_name": api_person["full_name"],
                    "mobile_number": api_person["mobile_number"],
                    "purpose": PURPOSE,
                },
                content_type="application/json",
            ),
        ),
        200,
    )
    txn = generated.json()["txnId"]
    measure("SMS job (worker), API", worker)
    token = expect(
        measure(
            "API confirmOTP, right OTP, `POST`",
            lambda: api.post(
                "/api/v3/vaccination/confirmOTP",
                {"txnId": txn, "otp": last_code()},
                content_type="application/json",
            ),
        ),
        200,
    ).json()["token"]
    measure("receipt SMS job (worker), API", worker)
    status = {"Authorization": f"Bearer {token}"}
    expect(
        measure(
            "API status, `GET`", lambda: api.get("/api/v3/vaccination/status", headers=status)
        ),
        200,
    )
    expect(
        measure("API status again", lambda: api.get("/api/v3/vaccination/status", headers=status)),
        200,
    )
    recorder.close()

    commands = recorder.by_request()
    rows = []
    for label, counter in counted:
        lines = commands[label]
        names = collections.Counter(
            ("in Lua: " if line["client_type"] == "lua" else "")
            + line["command"].split()[0].upper()
            for line in lines
        )
        sent = sum(1 for line in lines if line["client_type"] != "lua")
        rows.append((label, sent, counter.statements, counter.writes, counter.commits, names))
    return rows


def print_table(rows) -> None:
    print(
        "| request | Redis commands sent | which (and what an EVAL ran in Lua) "
        "| SQL statements | of them writes | transactions that wrote |"
    )
    print("|---|---:|---|---:|---:|---:|")
    for label, count, statements, writes, commits, names in rows:
        which = ", ".join(f"{name} {n}" for name, n in sorted(names.items())) or "—"
        print(f"| {label} | {count} | {which} | {statements} | {writes} | {commits} |")


if __name__ == "__main__":
    main()
