#!/usr/bin/env python
"""Time `manage.py import_registry` beside a bare bulk load of the same rows, and measure
its peak memory.

    python scripts/bench_import.py                    # 100,000 rows, a temporary SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        python scripts/bench_import.py [--million] [--rounds 2]

Writes a synthetic registry export (verification/sample_registry.py, the shape the
importer's tests use) to a temporary folder and loads it into a throwaway database: a
temporary SQLite file or, when DATABASE_URL names a PostgreSQL server, a database called
kyvs_bench_import on it, created with the migrations and dropped at the end (the database
named in the URL is only used to connect from). Each round, on emptied tables:

1. the import: the import_registry command in a child process (Django set up as by
   manage.py, then call_command timed: checking, writing, the second read and the commit,
   not Python's start-up). The child's CPU seconds (user + system, start-up included) and
   peak resident memory come from os.wait4: the figures `/usr/bin/time -v` reports as
   "User time", "System time" and "Maximum resident set size".
2. the baseline, the same rows in their final form (names already normalised, ids already
   given), prepared beforehand and not timed: on PostgreSQL a bare COPY into the same two
   tables, with their indexes and foreign keys, up to the commit; on SQLite a bare
   executemany INSERT. It runs in a child process too, so that this one stays small.
"""

import argparse
import csv
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _bench

_bench.use_test_settings()

BENCH_DATABASE = "kyvs_bench_import"
SECONDS = re.compile(r"^seconds ([0-9.e-]+)$", re.MULTILINE)


# The child: Django set up as by manage.py, then import_registry timed around its call.
CHILD = """
import sys, time, django
django.setup()
from django.core.management import call_command
began = time.perf_counter()
call_command("import_registry", sys.argv[1])
print(f"seconds {time.perf_counter() - began!r}")
"""


def run_import(path: Path, database_url: str) -> tuple[float, float, float]:
    """import_registry's seconds, and the CPU seconds (user + system) and peak RSS in MB of
    the process that ran it."""
    env = {**os.environ, "DATABASE_URL": database_url}
    child = subprocess.Popen(  # noqa: S603 (our own interpreter, our own code)
        [sys.executable, "-c", CHILD, str(path)],
        cwd=_bench.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = SECONDS.search(output)
    if os.waitstatus_to_exitcode(status) != 0 or not seconds:
        raise SystemExit(f"import_registry failed:\n{output}")
    return float(seconds.group(1)), usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def write_final_rows(path: Path, vaccines: dict[str, int], folder: Path) -> tuple[Path, Path]:
    """The beneficiary and dose rows the import writes for `path` (ids 1, 2, ...), as two
    CSV files, streamed: this process stays small, so the import's child, which starts as
    a copy of it, is measured on its own memory."""
    from kyvs.mobile import normalise_mobile
    from verification.registry import normalise_name

    people_path, doses_path = folder / "people.csv", folder / "doses.csv"
    with (
        open(path, encoding="utf-8", newline="") as stream,
        open(people_path, "w", encoding="utf-8", newline="") as people_file,
        open(doses_path, "w", encoding="utf-8", newline="") as doses_file,
    ):
        reader = csv.reader(stream)
        people = csv.writer(people_file, lineterminator="\n")
        doses = csv.writer(doses_file, lineterminator="\n")
        next(reader)
        last, pk = None, 0
        for ref, name, mobile, year, gender, vaccine, number, kind, when, *place in reader:
            if ref != last:  # a beneficiary's rows are consecutive
                last, pk = ref, pk + 1
                people.writerow(
                    (pk, ref, name, normalise_name(name), normalise_mobile(mobile), year, gender)
                )
            if vaccine:
                doses.writerow((pk, vaccines[vaccine], number, kind, when, *place))
    return people_path, doses_path


PEOPLE_COLUMNS = "id, reference_id, name, name_normalised, mobile, birth_year, gender"
DOSE_COLUMNS = "beneficiary_id, vaccine_id, dose_number, kind, date, centre, district, state"
BLOCK = 1 << 20


def bare_load(people: Path, doses: Path) -> float:
    """Seconds to load the rows by the database's plainest bulk path, in one transaction,
    commit included."""
    from django.db import connection, transaction

    tables = [
        ("verification_beneficiary", PEOPLE_COLUMNS, people),
        ("verification_dose", DOSE_COLUMNS, doses),
    ]
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, columns, path in tables:
            if connection.vendor == "postgresql":
                sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)"
                with open(path, "rb") as data, cursor.copy(sql) as copy:
                    while block := data.read(BLOCK):
                        copy.write(block)
            else:
                marks = ", ".join(["%s"] * len(columns.split(",")))
                sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
                with open(path, encoding="utf-8", newline="") as data:
                    cursor.executemany(sql, csv.reader(data))
    return time.perf_counter() - began


def run_bare_load(people: Path, doses: Path, database_url: str) -> float:
    """bare_load's seconds, run in a child process so that this one stays small: a child's
    peak RSS counts its parent's at the time it was started."""
    child = subprocess.run(  # noqa: S603 (our own interpreter, our own script)
        [sys.executable, __file__, "--bare-load", str(people), str(doses)],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(SECONDS.search(child.stdout).group(1))


def empty_tables() -> None:
    """The registry's tables emptied, and on PostgreSQL every table that refers to them
    (CASCADE: verifications, and what refers to a verification, such as embed sessions),
    all empty in the bench database anyway."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "TRUNCATE verification_verification, verification_dose, "
                "verification_beneficiary RESTART IDENTITY CASCADE"
            )
        else:
            for table in ("verification_verification", "verification_dose"):
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608
            cursor.execute("DELETE FROM verification_beneficiary")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="data rows in the file")
    parser.add_argument("--million", action="store_const", const=1_000_000, dest="rows")
    parser.add_argument("--rounds", type=int, default=1, help="import + baseline pairs")
    parser.add_argument("--bare-load", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_load:  # the baseline's child: DATABASE_URL names the bench database
        import django

        django.setup()
        print(f"seconds {bare_load(*args.bare_load)!r}")
        return

    import django

    django.setup()
    from django.db import connection

    from verification.models import Beneficiary, Dose, Vaccine
    from verification.sample_registry import write_big_registry

    with tempfile.TemporaryDirectory(prefix="kyvs-bench-import-") as folder:
        folder = Path(folder)
        # A dedicated database, never the one the URL names: a temporary SQLite file, or
        # kyvs_bench_import on the PostgreSQL server.
        postgresql = connection.vendor == "postgresql"
        connection.settings_dict["TEST"]["NAME"] = (
            BENCH_DATABASE if postgresql else str(folder / "db.sqlite3")
        )
        path = folder / "registry.csv"
        beneficiaries, dose_count = write_big_registry(path, args.rows)
        megabytes = path.stat().st_size / 1e6

        old_name = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False
        )
        try:
            settings = connection.settings_dict
            database_url = (
                f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
                f"{settings['PORT'] or 5432}/{settings['NAME']}"
                if postgresql
                else f"sqlite:///{settings['NAME']}"
            )
            if postgresql and settings["PASSWORD"]:
                os.environ.setdefault("PGPASSWORD", settings["PASSWORD"])
            vaccines = dict(Vaccine.objects.values_list("name", "pk"))
            people, doses = write_final_rows(path, vaccines, folder)
            version = connection.cursor().connection.info.server_version if postgresql else ""
            print(f"database   {connection.vendor} {version} ({settings['NAME']}, dropped after)")
            print(
                f"machine    {os.cpu_count()} CPUs, load average {_bench.load_average(1)} at start"
            )
            print(
                f"file       {args.rows:,} rows, {beneficiaries:,} beneficiaries, "
                f"{dose_count:,} doses, {megabytes:.1f} MB"
            )
            baseline = "bare COPY" if postgresql else "bare executemany INSERT"
            for round_ in range(1, args.rounds + 1):
                empty_tables()
                seconds, cpu, rss = run_import(path, database_url)
                assert Beneficiary.objects.count() == beneficiaries
                assert Dose.objects.count() == dose_count
                empty_tables()
                bare = run_bare_load(people, doses, database_url)
                assert Dose.objects.count() == dose_count
                import_rate, bare_rate = args.rows / seconds, args.rows / bare
                print(
                    f"round {round_}    import {seconds:6.1f} s, {import_rate:7,.0f} rows/s, "
                    f"process CPU {cpu:.1f} s, peak RSS {rss:.0f} MB | {baseline} "
                    f"{bare:6.1f} s, {bare_rate:7,.0f} "
                    f"rows/s | import / bare {bare / seconds:.2f} | load {_bench.load_average(1)}"
                )
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this script peaked at {rss_self:.0f} MB; a child's peak counts its parent's)")


if __name__ == "__main__":
    main()
