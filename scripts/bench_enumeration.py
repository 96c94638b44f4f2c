#!/usr/bin/env python
"""Time many starts that match one person, no one, or two people, against a slow SMS gateway.

    python scripts/bench_enumeration.py [--starts 200] [--delay-ms 300]
                                        [--queue database immediate]

Runs the real web view through Django's test client on a throwaway test database (SQLite in
memory, or DATABASE_URL's server), with the `http` SMS backend pointed at a local gateway
that takes --delay-ms to answer. The three kinds are interleaved at random. With the task
queue's database backend (KYVS_TASK_BACKEND=database, production's) the request only
enqueues and the three distributions should be the same (the gap between a match's median
and the others' is printed with a 95 % bootstrap interval, to tell a difference from
noise); with "immediate" (shown for contrast: the job runs inside the request) a match
pays the gateway's delay, which is what an onlooker could measure.
"""

import argparse
import os
import random
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import _bench

_bench.use_test_settings()
_bench.raise_start_limits()


def slow_gateway(delay: float) -> str:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(delay)  # the gateway's own latency, which is what is being hidden
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/sms"


def median_gap(a: list[float], b: list[float], resamples: int = 2000) -> tuple[float, ...]:
    """median(a) − median(b) in ms, with a 95 % bootstrap confidence interval (percentile
    method, `resamples` resamplings of each list with replacement, seeded, so a rerun on the
    same timings prints the same interval): (gap, low, high)."""
    rng = random.Random(13)
    gaps = sorted(
        statistics.median(rng.choices(a, k=len(a))) - statistics.median(rng.choices(b, k=len(b)))
        for _ in range(resamples)
    )
    low, high = gaps[int(0.025 * resamples)], gaps[int(0.975 * resamples) - 1]
    return statistics.median(a) - statistics.median(b), low, high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=200, help="starts of each kind")
    parser.add_argument("--delay-ms", type=int, default=300, help="the gateway's latency")
    parser.add_argument("--queue", nargs="+", default=["database", "immediate"])
    args = parser.parse_args()

    os.environ["KYVS_SMS_BACKEND"] = "http"
    os.environ["KYVS_SMS_HTTP_URL"] = slow_gateway(args.delay_ms / 1000)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings

    from tests.factories import make_beneficiary, make_member, make_organisation

    with _bench.throwaway_test_database():
        organisation = make_organisation(name="Bench Travels", daily_quota=10**9)
        operator = make_member(organisation, "bench-operator")
        n = args.starts
        for i in range(n):
            make_beneficiary(name=f"Match Person {i}", mobile=f"97{i:08d}")
            make_beneficiary(name=f"Twin Person {i}", mobile=f"96{i:08d}")
            make_beneficiary(name=f"Twin Person {i}", mobile=f"96{i:08d}")
        client = Client()
        client.force_login(operator)
        print(
            f"{n} starts of each kind, gateway latency {args.delay_ms} ms, "
            f"database {connection.vendor}, cache {settings.CACHES['default']['BACKEND']}"
        )
        for queue in args.queue:
            backend = settings.TASK_BACKENDS[queue]
            queue_settings = override_settings(TASKS={"default": {"BACKEND": backend}})
            queue_settings.enable()
            kinds = {
                "match": [(f"Match Person {i}", f"97{i:08d}") for i in range(n)],
                "no match": [(f"Nobody Person {i}", f"95{i:08d}") for i in range(n)],
                "two matches": [(f"Twin Person {i}", f"96{i:08d}") for i in range(n)],
            }
            timings = _bench.time_starts(client, kinds)
            queue_settings.disable()
            print(f"\nKYVS_TASK_BACKEND={queue}")
            print(f"  {'kind':<12} {'median ms':>10} {'p95 ms':>8} {'mean ms':>8} {'max ms':>8}")
            for kind, values in timings.items():
                print(
                    f"  {kind:<12} {statistics.median(values):>10.1f} "
                    f"{_bench.percentile(values, 95):>8.1f} {statistics.fmean(values):>8.1f} "
                    f"{max(values):>8.1f}"
                )
            for other in ("no match", "two matches"):
                gap, low, high = median_gap(timings["match"], timings[other])
                print(
                    f"  median of match − median of {other}: {gap:+.2f} ms "
                    f"(95 % bootstrap interval {low:+.2f} to {high:+.2f} ms)"
                )


if __name__ == "__main__":
    main()
