#!/usr/bin/env python
"""Time the operator's start against a small registry and a national-size one, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        python scripts/bench_registry_size.py [--small 10000] [--large 1000000] [--starts 300]

Issue 13 asks that a start with 1,000,000 beneficiaries stays within 20 % of a start with
10,000. This script measures exactly that, on a throwaway test database (SQLite in memory,
or a test database on DATABASE_URL's server, created with the migrations and dropped at
the end):

1. the registry is filled with --small beneficiaries (verification/sample_registry.py, the
   importer's own test shape, 0 to 3 doses each) by `import_registry`, then ANALYZEd as
   autovacuum would do after a load;
2. --starts starts through the real web view (Django's test client, an operator signed
   in, the task queue's database backend so the request only enqueues the SMS, as in
   production), half of them matching a random registered person, half matching nobody,
   interleaved at random; the time of each request is taken;
3. the tables are emptied, the registry filled again with --large beneficiaries, and step
   2 repeated with the same kinds of start.

It prints the median, p95 and mean of each kind for each size and the ratio of the large
registry's median to the small one's. Limits that would answer instead of the start are
raised out of the way for the run (per mobile, per operator, the daily quota).
"""

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import _bench

_bench.use_test_settings()
os.environ["KYVS_TASK_BACKEND"] = "database"
_bench.raise_start_limits()

# Rows per beneficiary in the sample registry: person % 4 doses, one row for none.
ROWS_PER_BENEFICIARY = 7 / 4


def fill_registry(beneficiaries: int, folder: Path) -> tuple[int, float]:
    """Empty the registry and import about `beneficiaries` people; returns how many were
    imported and the seconds the import took."""
    from django.core.management import call_command
    from django.db import connection

    from verification.models import Beneficiary, Dose, Verification
    from verification.sample_registry import write_big_registry

    Verification.objects.all().delete()
    Dose.objects.all().delete()
    Beneficiary.objects.all().delete()
    path = folder / f"registry-{beneficiaries}.csv"
    people, _doses = write_big_registry(path, int(beneficiaries * ROWS_PER_BENEFICIARY))
    began = time.perf_counter()
    call_command("import_registry", str(path), verbosity=0)
    took = time.perf_counter() - began
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    path.unlink()
    return people, took


def starts_of(people: int, starts: int, rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """`starts` starts' (full name, mobile), half for random people of the `people`
    registered and half for nobody, by kind."""
    matched = rng.sample(range(1, people + 1), starts // 2)
    return {
        "match": [
            (f"ભાવના Person {p}" if p % 10 == 0 else f"Person Number {p}", f"9{p:09d}")
            for p in matched
        ],
        "no match": [(f"Nobody Person {i}", f"8{i:09d}") for i in range(starts // 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000, help="beneficiaries, small")
    parser.add_argument("--large", type=int, default=1_000_000, help="beneficiaries, large")
    parser.add_argument("--starts", type=int, default=300, help="starts at each size")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from tests.factories import make_member, make_organisation

    rng = random.Random(args.seed)
    with _bench.throwaway_test_database():
        organisation = make_organisation(name="Bench Travels", daily_quota=10**9)
        operator = make_member(organisation, "bench-operator")
        client = Client()
        client.force_login(operator)
        print(
            f"{args.starts} starts at each size (half matching), database {connection.vendor}, "
            f"cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        medians = {}
        with tempfile.TemporaryDirectory() as folder:
            for size in (args.small, args.large):
                people, took = fill_registry(size, Path(folder))
                client.post(  # one start to warm the connection and the caches
                    "/verify/",
                    {"full_name": "Warm Up", "mobile_number": "8999999999", "purpose": "travel"},
                )
                timings = _bench.time_starts(client, starts_of(people, args.starts, rng), rng)
                everything = [t for values in timings.values() for t in values]
                medians[size] = statistics.median(everything)
                print(f"\n{people:,} beneficiaries (imported in {took:.1f} s)")
                print(f"  {'kind':<10} {'median ms':>10} {'p95 ms':>8} {'mean ms':>8}")
                for kind, values in [*timings.items(), ("all", everything)]:
                    print(
                        f"  {kind:<10} {statistics.median(values):>10.1f} "
                        f"{_bench.percentile(values, 95):>8.1f} {statistics.fmean(values):>8.1f}"
                    )
        ratio = medians[args.large] / medians[args.small]
        print(f"\nmedian start, large ÷ small registry: {ratio:.2f} (target ≤ 1.20)")


if __name__ == "__main__":
    main()
