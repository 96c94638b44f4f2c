#!/usr/bin/env python
"""A restore drill: back up a KYVS database and its signing keys, restore both elsewhere,
and prove the copy is whole and its receipts still check.

    python scripts/restore_drill.py [--source postgres://postgres@127.0.0.1:5432/kyvs_drill]

Against PostgreSQL (loopback by default). With no --source it makes a database of its own
(migrated, with the demo data), so it can be run anywhere; with
--source it drills the database given, read-only. It then:

1. backs up: `pg_dump --format=custom` of the database, and a copy of the signing key file
   (KYVS_SIGNING_KEY_FILE), as the README's "Backups" says;
2. restores: `pg_restore` into a new database (`<name>_restored`), the key into a new folder;
3. checks: every table has the same rows (count and an md5 of the sorted rows), Django
   finds no migration to apply, and a receipt signed before the backup verifies against
   the restored key;
4. prints what it did, with sizes and seconds, and drops the restored database.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import _bench

DEFAULT_SOURCE = "postgres://postgres@127.0.0.1:5432/kyvs_drill"


def run(*args: str, env: dict | None = None, stdin: str | None = None) -> str:
    result = subprocess.run(  # noqa: S603 (our own commands, no shell)
        args, env=env, input=stdin, capture_output=True, text=True, cwd=_bench.ROOT, timeout=900
    )
    if result.returncode:
        sys.exit(f"{' '.join(args[:3])} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def database_of(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


def psql(url: str, sql: str) -> str:
    return run("psql", url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql)


def table_fingerprints(url: str) -> dict[str, tuple[int, str]]:
    """table → (rows, md5 of its rows in order): what a whole copy must repeat."""
    tables = psql(
        url,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    ).split()
    prints = {}
    for table in tables:
        # The names come from pg_tables itself.
        rows = psql(url, f'SELECT count(*) FROM "{table}"').strip()  # noqa: S608
        every_row = "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM \"{}\" t"
        digest = psql(url, every_row.format(table)).strip()
        prints[table] = (int(rows), digest)
    return prints


def manage(env: dict, *args: str) -> str:
    return run(sys.executable, "manage.py", *args, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", help="the database to drill (default: one made here)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kyvs-restore-drill-"))
    source = args.source or DEFAULT_SOURCE
    key_file = work / "signing-key.pem"
    env = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": source,
        "KYVS_SIGNING_KEY_FILE": os.environ.get("KYVS_SIGNING_KEY_FILE", str(key_file)),
        "KYVS_SIGNING_KEY_GENERATE": "true",
        "KYVS_TASK_BACKEND": "immediate",
        "KYVS_SMS_BACKEND": "file",
        "KYVS_SMS_FILE": str(work / "sms.jsonl"),
        "KYVS_LOG_LEVEL": "ERROR",
    }
    maintenance = _bench.with_database(source, "postgres")
    restored = _bench.with_database(source, database_of(source) + "_restored")
    began = time.monotonic()
    try:
        if not args.source:
            psql(maintenance, f'DROP DATABASE IF EXISTS "{database_of(source)}"')
            psql(maintenance, f'CREATE DATABASE "{database_of(source)}"')
            manage(env, "migrate", "--noinput", "-v0")
            manage(env, "seed_demo", "--password", "drill-password-1234")
        receipt = manage(
            env,
            "shell",
            "-c",
            "from verification.receipts import sign, receipt_claims\n"
            "from django.utils import timezone\n"
            "print(sign(receipt_claims(organisation_id='drill', organisation_name='Drill',"
            " result_fields={'verification_id': 'drill', 'purpose': 'travel',"
            " 'vaccination_status': 2}, issued_at=timezone.now())))",
        ).split()[-1]

        # 1. Back up.
        dump = work / "kyvs.dump"
        started = time.monotonic()
        run("pg_dump", "--format=custom", "--file", str(dump), source)
        key_backup = work / "keys-backup"
        key_backup.mkdir()
        shutil.copy2(env["KYVS_SIGNING_KEY_FILE"], key_backup / "signing-key.pem")
        backup_seconds = time.monotonic() - started

        # 2. Restore, elsewhere.
        started = time.monotonic()
        psql(maintenance, f'DROP DATABASE IF EXISTS "{database_of(restored)}"')
        psql(maintenance, f'CREATE DATABASE "{database_of(restored)}"')
        run("pg_restore", "--no-owner", "--dbname", restored, str(dump))
        restore_seconds = time.monotonic() - started

        # 3. Check.
        before, after = table_fingerprints(source), table_fingerprints(restored)
        differing = sorted(t for t in before if before[t] != after.get(t))
        restored_env = {
            **env,
            "DATABASE_URL": restored,
            "KYVS_SIGNING_KEY_FILE": str(key_backup / "signing-key.pem"),
            "KYVS_SIGNING_KEY_GENERATE": "false",
        }
        pending = manage(restored_env, "showmigrations", "--plan")
        unapplied = [line for line in pending.splitlines() if line.startswith("[ ]")]
        checked = subprocess.run(
            [sys.executable, "manage.py", "verify_receipt", "-"],
            env=restored_env,
            input=receipt,
            capture_output=True,
            text=True,
            cwd=_bench.ROOT,
            timeout=120,
        )
        rows = sum(count for count, _ in before.values())
        print(f"source        {source}")
        print(f"restored into {restored}")
        print(f"tables        {len(before)}, {rows} rows")
        print(f"dump          {dump.stat().st_size / 1e6:.1f} MB in {backup_seconds:.1f} s")
        print(f"restore       {restore_seconds:.1f} s")
        key_digest = hashlib.sha256((key_backup / "signing-key.pem").read_bytes()).hexdigest()
        print(f"signing key   backed up (sha256 {key_digest[:12]}…)")
        print(f"tables equal  {'yes' if not differing else 'NO: ' + ', '.join(differing)}")
        print(f"migrations    {unapplied if unapplied else 'none to apply'}")
        print(f"old receipt   {'checks' if checked.returncode == 0 else 'DOES NOT CHECK'}")
        print(f"drill took    {time.monotonic() - began:.1f} s")
        if differing or unapplied or checked.returncode:
            sys.exit(1)
    finally:
        psql(maintenance, f'DROP DATABASE IF EXISTS "{database_of(restored)}"')
        if not args.source:
            psql(maintenance, f'DROP DATABASE IF EXISTS "{database_of(source)}"')
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
