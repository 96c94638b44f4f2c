#!/usr/bin/env python
"""How many verifications a second one PostgreSQL primary writes: pgbench with custom
scripts that send the statements of a start, of the SMS job's completion and of a confirm.

    python scripts/bench_write_rate.py [--seconds 20] [--clients 8]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]
        [--database-name kyvs_bench_writes]

Needs PostgreSQL on loopback (DATABASE_URL or --database-url, default
postgres://postgres@127.0.0.1:5432/postgres; only connected to) and `pgbench` on PATH or
in /usr/lib/postgresql/<version>/bin. It creates the database kyvs_bench_writes
(--database-name) with the migrations, fills it (--organisations organisations with an
operator each, --people beneficiaries with 1 to 2 doses, --verifications of yesterday for
confirms to update) and drops it at the end. A table bench_otp_job stands in for the
queue row a start will write for its SMS (today the SMS goes from a thread and writes no
row; docs/scaling.md says why the sizing counts one).

The three transactions, as services.py sends them (verification/services.py):
  start   - lock the organisation row, read a membership, count the organisation's
            starts today (the daily quota), match the beneficiary, insert the
            verification, insert its job row; commit
  deliver - take the oldest queued job (FOR UPDATE SKIP LOCKED) and mark it sent; commit
  confirm - lock a verification joined to its organisation and beneficiary, update it,
            read the beneficiary's doses and vaccines; commit
Runs, each --seconds long with --clients connections: the three mixed 1:1:1 over all
organisations (one verification = three transactions), starts alone over all
organisations, and starts alone for one organisation (its row lock serialises them).
Prints transactions per second and latency for each run, and the verifications per
second they mean. synchronous_commit stays on, as in production.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import _bench
import psycopg

START = """\\set org random(:orgmin, :orgmax)
\\set person random(1, :people)
BEGIN;
SELECT id, state, daily_quota, purposes, scopes FROM providers_organisation
    WHERE id = :org FOR UPDATE;
SELECT id, role FROM providers_membership WHERE organisation_id = :org LIMIT 1;
SELECT COUNT(*) FROM verification_verification WHERE organisation_id = :org
    AND created_at >= date_trunc('day', now() AT TIME ZONE 'Asia/Kolkata')
    AT TIME ZONE 'Asia/Kolkata';
SELECT id AS beneficiary FROM verification_beneficiary
    WHERE mobile = (6000000000 + :person)::text AND name_normalised = 'person ' || :person
    LIMIT 2 \\gset
INSERT INTO verification_verification (public_id, organisation_id, channel, purpose,
    scopes, beneficiary_id, mobile_masked, otp_hash, otp_sent_at, otp_expires_at,
    attempts, resends, state, failure_reason, ip, created_at)
    VALUES (gen_random_uuid(), :org, 'web', 'travel', '["status"]', :beneficiary,
    '••••••1234', md5(random()::text) || md5(random()::text), now(),
    now() + interval '3 minutes', 0, 0, 'otp_sent', '', '203.0.113.7', now())
    RETURNING id AS verification \\gset
INSERT INTO bench_otp_job (verification_id) VALUES (:verification);
COMMIT;
"""

DELIVER = """BEGIN;
UPDATE bench_otp_job SET state = 'sent', done_at = now() WHERE id = (
    SELECT id FROM bench_otp_job WHERE state = 'queued' ORDER BY created_at
    LIMIT 1 FOR UPDATE SKIP LOCKED);
COMMIT;
"""

CONFIRM = """\\set v random(:vmin, :vmax)
BEGIN;
SELECT v.id, v.state, v.otp_hash, v.otp_expires_at, o.state, b.id
    FROM verification_verification v
    JOIN providers_organisation o ON o.id = v.organisation_id
    LEFT JOIN verification_beneficiary b ON b.id = v.beneficiary_id
    WHERE v.id = :v FOR UPDATE OF v;
UPDATE verification_verification SET state = 'verified', otp_hash = '', finished_at = now()
    WHERE id = :v;
SELECT d.dose_number, d.kind, d.date, d.centre, vac.name, vac.primary_doses_required
    FROM verification_dose d JOIN verification_vaccine vac ON vac.id = d.vaccine_id
    WHERE d.beneficiary_id = (SELECT beneficiary_id FROM verification_verification
    WHERE id = :v) ORDER BY d.date, d.dose_number;
COMMIT;
"""

FILL = """
INSERT INTO verification_vaccine (name, primary_doses_required) VALUES ('Bench', 2);
INSERT INTO verification_beneficiary (reference_id, name, name_normalised, mobile,
    birth_year, gender)
    SELECT lpad(i::text, 14, '0'), 'Person ' || i, 'person ' || i,
        (6000000000 + i)::text, 1950 + i %% 50, 'F'
    FROM generate_series(1, %(people)s) AS i;
INSERT INTO verification_dose (beneficiary_id, vaccine_id, dose_number, kind, date,
    centre, district, state)
    SELECT b.id, (SELECT id FROM verification_vaccine WHERE name = 'Bench'), n, 'primary',
        date '2021-06-01' + n * 84, 'PHC Bench', 'Vadodara', 'Gujarat'
    FROM verification_beneficiary b, generate_series(1, 2) AS n
    WHERE n = 1 OR b.id %% 2 = 0;
INSERT INTO verification_verification (public_id, organisation_id, channel, purpose,
    scopes, beneficiary_id, mobile_masked, otp_hash, otp_sent_at, otp_expires_at,
    attempts, resends, state, failure_reason, ip, created_at)
    SELECT gen_random_uuid(), o.id, 'web', 'travel', '["status"]', NULL, '••••••1234',
        md5(i::text), now() - interval '1 day', now() - interval '1 day', 0, 0,
        'otp_sent', '', '203.0.113.7', now() - interval '1 day'
    FROM generate_series(1, %(verifications)s) AS i
    JOIN providers_organisation o ON o.id = (SELECT min(id) FROM providers_organisation)
        + i %% %(organisations)s;
UPDATE verification_verification v SET beneficiary_id = b.id
    FROM verification_beneficiary b
    WHERE b.reference_id = lpad((v.id %% %(people)s + 1)::text, 14, '0');
CREATE TABLE bench_otp_job (
    id bigserial PRIMARY KEY,
    verification_id bigint NOT NULL,
    state text NOT NULL DEFAULT 'queued',
    created_at timestamptz NOT NULL DEFAULT now(),
    done_at timestamptz
);
CREATE INDEX bench_otp_job_queued ON bench_otp_job (created_at) WHERE state = 'queued';
VACUUM ANALYZE;
"""


def pgbench_path(maintenance: psycopg.Connection) -> str:
    found = shutil.which("pgbench")
    if found:
        return found
    version = int(maintenance.execute("SHOW server_version_num").fetchone()[0]) // 10000
    candidate = Path(f"/usr/lib/postgresql/{version}/bin/pgbench")
    if candidate.exists():
        return str(candidate)
    raise SystemExit("pgbench not found (Debian: it comes with postgresql-client)")


def run_pgbench(pgbench, url, folder, scripts, variables, args) -> dict:
    parts = urlsplit(url)
    command = [pgbench, "-n", "-c", str(args.clients), "-j", str(min(args.clients, 2))]
    command += ["-T", str(args.seconds), "-r", "-h", parts.hostname, "-p", str(parts.port)]
    command += ["-U", parts.username or "postgres"]
    for name, weight in scripts:
        command += ["-f", f"{folder / name}@{weight}"]
    for key, value in variables.items():
        command += ["-D", f"{key}={value}"]
    command.append(args.database_name)
    run = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, timeout=args.seconds + 120, check=True
    )
    out = run.stdout
    return {
        "tps": float(re.search(r"tps = ([\d.]+)", out).group(1)),
        "latency": float(re.search(r"latency average = ([\d.]+) ms", out).group(1)),
        "failed": int(re.search(r"number of failed transactions: (\d+)", out).group(1)),
        "output": out,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _bench.add_server_arguments(parser, database_name="kyvs_bench_writes", redis_db=None)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--organisations", type=int, default=50)
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--verifications", type=int, default=100_000)
    parser.add_argument("--verbose", action="store_true", help="print pgbench's own report")
    args = parser.parse_args()
    _bench.check_server_arguments(parser, args)

    bench_url = _bench.with_database(args.database_url, args.database_name)
    maintenance = psycopg.connect(args.database_url, autocommit=True)
    pgbench = pgbench_path(maintenance)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kyvs.test_settings",
        "DATABASE_URL": bench_url,
        "KYVS_LOG_LEVEL": "ERROR",
    }
    folder = Path(tempfile.mkdtemp(prefix="kyvs-bench-writes-"))
    try:
        _bench.create_database(maintenance, args.database_name)
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=_bench.ROOT,
            env=env,
            check=True,
        )
        subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-c",
                "import django; django.setup()\n"
                "from tests.factories import make_member, make_organisation\n"
                f"for n in range({args.organisations}):\n"
                "    make_member(make_organisation(name=f'Bench {n}', daily_quota=10**9))\n",
            ],
            cwd=_bench.ROOT,
            env=env,
            check=True,
        )
        with psycopg.connect(bench_url, autocommit=True) as bench:
            for statement in FILL.split(";\n"):
                if statement.strip():
                    bench.execute(statement % vars(args))
            orgmin, orgmax = bench.execute(
                "SELECT min(id), max(id) FROM providers_organisation"
            ).fetchone()
            vmin, vmax = bench.execute(
                "SELECT min(id), max(id) FROM verification_verification"
            ).fetchone()
        for name, text in (
            ("start.sql", START),
            ("deliver.sql", DELIVER),
            ("confirm.sql", CONFIRM),
        ):
            (folder / name).write_text(text, encoding="utf-8")
        shared = {"people": args.people, "vmin": vmin, "vmax": vmax}
        runs = [
            (
                "start + deliver + confirm, 1:1:1, all organisations",
                [("start.sql", 1), ("deliver.sql", 1), ("confirm.sql", 1)],
                {"orgmin": orgmin, "orgmax": orgmax},
                3,
            ),
            (
                "start only, all organisations",
                [("start.sql", 1)],
                {"orgmin": orgmin, "orgmax": orgmax},
                1,
            ),
            (
                "start only, one organisation",
                [("start.sql", 1)],
                {"orgmin": orgmin, "orgmax": orgmin},
                1,
            ),
        ]
        print(
            f"pgbench {args.clients} clients, {args.seconds} s a run; {args.organisations} "
            f"organisations, {args.people:,} beneficiaries, {args.verifications:,} older "
            f"verifications; load before: {_bench.load_average()}",
            flush=True,
        )
        print("| run | transactions/s | mean latency | failed | verifications/s |")
        print("|---|---|---|---|---|")
        for title, scripts, variables, per_verification in runs:
            result = run_pgbench(
                pgbench, bench_url, folder, scripts, {**shared, **variables}, args
            )
            if args.verbose:
                print(result["output"])
            print(
                f"| {title} | {result['tps']:.0f} | {result['latency']:.1f} ms | "
                f"{result['failed']} | {result['tps'] / per_verification:.0f} |",
                flush=True,
            )
        print(f"load after: {_bench.load_average()}")
    finally:
        _bench.drop_database(maintenance, args.database_name)
        maintenance.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
