#!/usr/bin/env python
"""Requests per second served by gunicorn against PostgreSQL and Redis, with database
connections kept between requests (KYVS_DB_CONN_MAX_AGE=600, the default) and opened per
request (0).

    python scripts/bench_throughput.py [--seconds 15] [--concurrency 4] [--rounds 2]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]
        [--database-name kyvs_bench] [--redis-url redis://127.0.0.1:6379/6]

Production settings (kyvs/settings.py with DEBUG off) except for what a plain-HTTP
loopback run needs: DJANGO_ALLOWED_HOSTS=127.0.0.1, KYVS_SSL_REDIRECT=false,
KYVS_SECURE_COOKIES=false, a generated secret key and signing key, and STATIC_ROOT in a
temporary folder, filled by collectstatic (a one-line settings module in that folder), so
whitenoise's manifest storage works as in production and nothing is written into the
checkout.

The script creates the database kyvs_bench (--database-name) on the server of
--database-url (the database that URL names is only used to connect from), migrates it,
creates an approved organisation with one operator, and drops the database at the end;
it uses the Redis database of --redis-url (db 6 by default, never 0) and deletes its own
keys (prefix kyvs) at the end. For each setting and round it starts gunicorn (2 sync
workers) on a free loopback port, waits until /healthz answers, and drives two endpoints
for --seconds each from --concurrency client threads, each request on a new connection
(sync workers close the connection after every response):

- GET /healthz: a SELECT 1 and a Redis set/get/delete;
- GET /verify/ as a signed-in operator: the session, user, membership and organisation
  read from PostgreSQL, the session saved again (the idle timeout), the form rendered.

Every response must be a 200, or the run stops. Traffic goes only to 127.0.0.1.
"""

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _bench
import psycopg
import redis

OPERATOR = "bench-operator"
CONN_MAX_AGES = ["600", "0"]
GUNICORN = ["kyvs.wsgi", "--workers=2", "--worker-class=sync", "--log-level=warning"]
TIMEOUT = 10  # seconds a request may wait for its answer


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
            status, _, _ = _bench.request(port, path, headers=headers, timeout=TIMEOUT)
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
    _bench.add_server_arguments(parser, database_name="kyvs_bench", redis_db=6)
    args = parser.parse_args()
    _bench.check_server_arguments(parser, args)

    bench_url = _bench.with_database(args.database_url, args.database_name)
    maintenance = psycopg.connect(args.database_url, autocommit=True)
    cache = redis.Redis.from_url(args.redis_url)
    password = secrets.token_urlsafe(16)
    folder = Path(tempfile.mkdtemp(prefix="kyvs-bench-throughput-"))
    (folder / "bench_settings.py").write_text(
        f"from kyvs.settings import *  # noqa: F403\nSTATIC_ROOT = {str(folder / 'static')!r}\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(folder), str(_bench.ROOT)]),
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        **_bench.production_env(folder, _bench.HOST),
        "KYVS_LOG_LEVEL": "WARNING",
        "DATABASE_URL": bench_url,
        "REDIS_URL": args.redis_url,
    }
    manage = [sys.executable, "manage.py"]
    results: dict[tuple[str, str], list[dict]] = {}
    try:
        _bench.create_database(maintenance, args.database_name)
        for command in (
            ["migrate", "--noinput", "-v0"],
            ["collectstatic", "--noinput", "-v0"],
            ["create_provider", "--name", "Bench Travels", "--kind", "travel_agency"]
            + ["--purposes", "travel", "--operator", OPERATOR, "--password", password],
        ):
            subprocess.run([*manage, *command], cwd=_bench.ROOT, env=env, check=True)  # noqa: S603

        print(
            f"gunicorn 2 sync workers, {args.concurrency} client threads, "
            f"{args.seconds:.0f} s per endpoint, {args.rounds} rounds; load before: "
            f"{_bench.load_average()}",
            flush=True,
        )
        for round_ in range(args.rounds):
            for max_age in CONN_MAX_AGES:
                server = _bench.Gunicorn(
                    GUNICORN, {**env, "KYVS_DB_CONN_MAX_AGE": max_age}, folder / "gunicorn.log"
                )
                try:
                    server.wait_ready(timeout=30)
                    session, _ = _bench.sign_in(server.port, OPERATOR, password, TIMEOUT)
                    for name, path, headers in (
                        ("GET /healthz", "/healthz", {}),
                        ("GET /verify/", "/verify/", {"Cookie": f"sessionid={session}"}),
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
        _bench.drop_database(maintenance, args.database_name)
        maintenance.close()
        _bench.forget_keys(cache)
        cache.close()
        shutil.rmtree(folder)

    print(f"\nload after: {_bench.load_average()}")
    print("\n| endpoint | req/s, kept (600) | req/s, per request (0) | kept / per request |")
    print("|---|---|---|---|")
    for name in ("GET /healthz", "GET /verify/"):
        kept = statistics.median(r["rps"] for r in results[(name, "600")])
        fresh = statistics.median(r["rps"] for r in results[(name, "0")])
        print(f"| {name} | {kept:.0f} | {fresh:.0f} | {kept / fresh:.2f}x |")


if __name__ == "__main__":
    main()
