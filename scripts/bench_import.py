#!/usr/bin/env python
"""Time and measure the memory of importing an N-row registry export.

    python scripts/bench_import.py [--rows 100000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python scripts/bench_import.py

Writes a synthetic registry CSV (verification/sample_registry.py, the shape the importer's
tests use) to a temporary folder and imports it with verification.importer.import_csv into
a throwaway database: a temporary SQLite file by default or, when DATABASE_URL names a
PostgreSQL server, a database called kyvs_bench_import on it, created with the migrations
and dropped at the end (the database named in the URL is only used to connect from).

Prints the rows, the file's size, the import's seconds and rows per second, the process's
peak resident memory (ru_maxrss) before and after the import, and the peak of memory
traced by tracemalloc during a separate run of the checking pass (traced on its own, as
tracemalloc slows everything it watches). Peak RSS that stays flat from 100,000 to
1,000,000 rows is what shows that the file is streamed, not held in memory.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kyvs.test_settings")
os.environ.setdefault("KYVS_LOG_LEVEL", "ERROR")

BENCH_DATABASE = "kyvs_bench_import"


def peak_rss_mb() -> float:
    """The process's peak resident set so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="data rows in the file")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from verification import importer
    from verification.models import Beneficiary, Dose, Vaccine
    from verification.sample_registry import write_big_registry

    with tempfile.TemporaryDirectory(prefix="kyvs-bench-import-") as folder:
        folder = Path(folder)
        # A dedicated database, never the one the URL names: a temporary SQLite file, or
        # kyvs_bench_import on the PostgreSQL server.
        test_name = BENCH_DATABASE if connection.vendor == "postgresql" else str(folder / "db")
        connection.settings_dict["TEST"]["NAME"] = test_name

        path = folder / "registry.csv"
        began = time.perf_counter()
        beneficiaries, doses = write_big_registry(path, args.rows)
        written = time.perf_counter() - began
        megabytes = path.stat().st_size / 1e6

        old_name = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False
        )
        try:
            rss_before = peak_rss_mb()
            summary = importer.import_csv(path)
            rss_after = peak_rss_mb()
            assert summary.created == Beneficiary.objects.count() == beneficiaries
            assert summary.doses == Dose.objects.count() == doses

            # The checking pass again, on its own, under tracemalloc.
            parser_ = importer.RowParser(
                dict(Vaccine.objects.values_list("name", "pk")), timezone.localdate()
            )
            tracemalloc.start()
            try:
                began = time.perf_counter()
                importer.validate(importer.csv_source(path), parser_)
                traced_seconds = time.perf_counter() - began
                traced_peak = tracemalloc.get_traced_memory()[1] / 1e6
            finally:
                tracemalloc.stop()
            database = f"{connection.vendor} ({connection.settings_dict['NAME']})"
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"database          {database}, dropped")
    print(f"rows              {args.rows:,} ({beneficiaries:,} beneficiaries, {doses:,} doses)")
    print(f"file              {megabytes:.1f} MB (written in {written:.1f} s)")
    print(f"import            {summary.seconds:.1f} s, {args.rows / summary.seconds:,.0f} rows/s")
    print(f"peak RSS          {rss_before:.0f} MB before the import, {rss_after:.0f} MB after")
    print(
        f"checking pass     tracemalloc peak {traced_peak:.2f} MB ({traced_seconds:.1f} s traced)"
    )


if __name__ == "__main__":
    main()
