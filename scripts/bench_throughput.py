#!/usr/bin/env python
"""Requests per second served by gunicorn against PostgreSQL and Redis, with database
connections kept between requests (KYVS_DB_CONN_MAX_AGE=600, the default) and opened per
request (0).

    python scripts/bench_throughput.py [--seconds 15] [--concurrency 4] [--rounds 2]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]
        [--redis-url redis://127.0.0.1:6379/6]

Production settings (kyvs/settings.py with DEBUG off) except for what a plain-HTTP
loopback run needs: DJANGO_ALLOWED_HOSTS=127.0.0.1, KYVS_SSL_REDIRECT=false,
KYVS_SECURE_COOKIES=false, a generated secret key and signing key, and STATIC_ROOT in a
temporary folder, filled by collectstatic (a one-line settings module in that folder), so
whitenoise's manifest storage works as in production and nothing is written into the
checkout.

The script creates the database kyvs_bench on the server of --database-url (the database
that URL names is only used to connect from), migrates it, creates an approved
organisation with one operator, and drops the database at the end; it uses the Redis
database of --redis-url (db 6 by default, never 0) and deletes its own keys (prefix kyvs)
at the end. For each setting and round it starts gunicorn (2 sync workers) on a free
loopback port, waits until /healthz answers, and drives two endpoints for --seconds each
from --concurrency client threads, each request on a new connection (sync workers close
the connection after every response):

- GET /healthz: a SELECT 1 and a Redis set/get/delete;
- GET /verify/ as a signed-in operator: the session, user, membership and organisation
  read from PostgreSQL, the session saved again (the idle timeout), the form rendered.

Every response must be a 200, or the run stops. Traffic goes only to 127.0.0.1.
"""

import argparse
import http.client
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "kyvs_bench"
OPERATOR = "bench-operator"
HOST = "127.0.0.1"
CONN_MAX_AGES = ["600", "0"]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def request(port: int, path: str, headers: dict | None = None, method="GET", body=None):
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


class Gunicorn:
    """gunicorn on a free loopback port; started and stopped by this script only."""

    def __init__(self, env: dict, log: Path):
        self.port = free_port()
        self.log = open(log, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(  # noqa: S603 (a fixed command line)
            [
                sys.executable,
                "-m",
                "gunicorn",
                "kyvs.wsgi",
                f"--bind={HOST}:{self.port}",
                "--workers=2",
                "--worker-class=sync",
                "--log-level=warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.flush()
                tail = Path(self.log.name).read_text(errors="replace")[-3000:]
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{tail}")
            try:
                if request(self.port, "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"gunicorn did not answer /healthz within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def sign_in(port: int, password: str) -> str:
    """The Cookie header of a signed-in operator, through the real login form."""
    status, headers, body = request(port, "/accounts/login/")
    assert status == 200, status
    cookies = dict(
        value.split(";", 1)[0].split("=", 1) for name, value in headers if name == "Set-Cookie"
    )
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    form = f"username={OPERATOR}&password={password}&csrfmiddlewaretoken={token}"
    status, headers, _ = request(
        port,
        "/accounts/login/",
        method="POST",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken']}",
            "Referer": f"http://{HOST}:{port}/accounts/login/",
        },
    )
    assert status == 302, f"sign-in answered {status}"
    for name, value in headers:
        if name == "Set-Cookie" and value.startswith("sessionid="):
            return value.split(";", 1)[0]
    raise SystemExit("sign-in set no session cookie")


def drive(port: int, path: str, headers: dict, seconds: float, concurrency: int) -> dict:
    """Requests from `concurrency` threads for `seconds`; each thread also stops at a hard
    cap of requests, so the loop is bounded by count as well as by time."""
    cap = 200_000
    stop_at = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures: list[str] = []

    def worker(mine: list[float]) -> None:
        while time.monotonic() < stop_at and len(mine) < cap and not failures:
            began = time.perf_counter()
            status, _, _ = request(port, path, headers)
            mine.append(time.perf_counter() - began)
            if status != 200:
                failures.append(f"GET {path} answered {status}")

    began = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, latencies))
    elapsed = time.perf_counter() - began
    if failures:
        raise SystemExit(failures[0])
    every = sorted(x for mine in latencies for x in mine)
    return {
        "requests": len(every),
        "rps": len(every) / elapsed,
        "median_ms": statistics.median(every) * 1000,
        "p95_ms": every[int(0.95 * (len(every) - 1))] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15, help="per endpoint and run")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each setting, alternated")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server to create kyvs_bench on",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/6")
    args = parser.parse_args()

    for url in (args.database_url, args.redis_url):
        if urlsplit(url).hostname not in {"127.0.0.1", "localhost"}:
            raise SystemExit(f"{url}: loopback only")
    if urlsplit(args.redis_url).path.strip("/") in {"", "0"}:
        raise SystemExit("use a Redis database of its own (e.g. /6), not db 0")
    bench_url = with_database(args.database_url, BENCH_DATABASE)
    maintenance = psycopg.connect(args.database_url, autocommit=True)
    cache = redis.Redis.from_url(args.redis_url)
    password = secrets.token_urlsafe(16)
    folder = Path(tempfile.mkdtemp(prefix="kyvs-bench-throughput-"))
    (folder / "bench_settings.py").write_text(
        f"from kyvs.settings import *  # noqa: F403\nSTATIC_ROOT = {str(folder / 'static')!r}\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "KYVS_SSL_REDIRECT": "false",
        "KYVS_SECURE_COOKIES": "false",
        "KYVS_SIGNING_KEY_FILE": str(folder / "signing-key.pem"),
        "KYVS_SIGNING_KEY_GENERATE": "true",
        "KYVS_LOG_LEVEL": "WARNING",
        "DATABASE_URL": bench_url,
        "REDIS_URL": args.redis_url,
    }
    manage = [sys.executable, "manage.py"]
    results: dict[tuple[str, str], list[dict]] = {}
    try:
        maintenance.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
        maintenance.execute(f"CREATE DATABASE {BENCH_DATABASE}")
        for command in (
            ["migrate", "--noinput", "-v0"],
            ["collectstatic", "--noinput", "-v0"],
            ["create_provider", "--name", "Bench Travels", "--kind", "travel_agency"]
            + ["--purposes", "travel", "--operator", OPERATOR, "--password", password],
        ):
            subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True)  # noqa: S603

        print(
            f"gunicorn 2 sync workers, {args.concurrency} client threads, "
            f"{args.seconds:.0f} s per endpoint, {args.rounds} rounds; load before: "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            flush=True,
        )
        for round_ in range(args.rounds):
            for max_age in CONN_MAX_AGES:
                server = Gunicorn(
                    {**env, "KYVS_DB_CONN_MAX_AGE": max_age}, folder / "gunicorn.log"
                )
                try:
                    server.wait_ready()
                    cookie = sign_in(server.port, password)
                    for name, path, headers in (
                        ("GET /healthz", "/healthz", {}),
                        ("GET /verify/", "/verify/", {"Cookie": cookie}),
                    ):
                        drive(server.port, path, headers, 1, args.concurrency)  # warm-up
                        result = drive(server.port, path, headers, args.seconds, args.concurrency)
                        results.setdefault((name, max_age), []).append(result)
                        print(
                            f"  round {round_ + 1} CONN_MAX_AGE={max_age:<3} {name:<13} "
                            f"{result['rps']:7.1f} req/s  median {result['median_ms']:5.1f} ms  "
                            f"p95 {result['p95_ms']:5.1f} ms  ({result['requests']} requests)",
                            flush=True,
                        )
                finally:
                    server.stop()
    finally:
        maintenance.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        maintenance.close()
        for key in cache.scan_iter("kyvs:*", count=1000):
            cache.delete(key)
        cache.close()
        shutil.rmtree(folder)

    print(f"\nload after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n| endpoint | req/s, kept (600) | req/s, per request (0) | kept / per request |")
    print("|---|---|---|---|")
    for name in ("GET /healthz", "GET /verify/"):
        kept = statistics.median(r["rps"] for r in results[(name, "600")])
        fresh = statistics.median(r["rps"] for r in results[(name, "0")])
        print(f"| {name} | {kept:.0f} | {fresh:.0f} | {kept / fresh:.2f}x |")


if __name__ == "__main__":
    main()
