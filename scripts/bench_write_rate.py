#!/usr/bin/env python
"""How many verifications a second one PostgreSQL primary writes: pgbench sending the
statements of a verification as the portal sends them today.

    python scripts/bench_write_rate.py [--seconds 20] [--clients 8]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]
        [--database-name kyvs_bench_writes]

Needs PostgreSQL on loopback (DATABASE_URL or --database-url, default
postgres://postgres@127.0.0.1:5432/postgres; only connected to) and `pgbench` on PATH or
in /usr/lib/postgresql/<version>/bin. It creates the database kyvs_bench_writes
(--database-name) with the migrations, fills it (--organisations organisations with an
operator and today's count of starts each, --people beneficiaries with 1 to 2 doses,
--verifications older verifications) and drops it at the end.

The statements are not written here from memory. The script first runs one verification
through the portal's own code on that database, in this process, and captures what each
step sends: start_verification as the hosted page calls it (an operator, channel web), the
task queue's worker (django-tasks' db_worker, which `manage.py run_worker` runs) for the
code SMS, confirm_verification, and the worker again for the receipt SMS. Every row pgbench
inserts (a verification, a job) has the columns (the model's concrete fields) and the
values of the row that run wrote; only the keys, the public id (which a job names its
verification by) and the times vary from row to row. Before any timing it compares what
pgbench will send with what the portal sent, step by step (each statement's verb, table,
the tables it joins, row lock and, for an INSERT, columns), and stops with the difference
if they differ: a statement added, dropped or moved, a join made or left out. A column
it cannot give a value for stops it too (a reference or unique column it does not know how
to vary), and pgbench's own errors stop it (a client that meets one aborts the run).

One verification, 8 write transactions (commits). A verification is locked and read by
its public id, with its organisation and never with its beneficiary:
  start       - match the beneficiary and read the citizen's lock or block, outside a
                transaction; then read the organisation, add one to today's starts and
                read the sum back (one StartsOfDay row, locked to the commit), insert
                the verification, insert the code SMS job; commit
  code job    - the worker claims the oldest ready job (FOR UPDATE SKIP LOCKED); commit.
                It locks the verification the job names, stores the code's hash and the
                approve link's digest, reads the beneficiary's mobile apart; commit. It
                marks the code sent; it marks the job done
  confirm     - lock the verification, update it, insert the receipt SMS job; commit.
                Then read the doses with their vaccines (the result), outside it
  receipt job - the worker claims it; commit. It reads the verification, then the
                beneficiary's mobile apart; it marks the job done
Not in it: the hosted page's session writes (docs/scaling.md counts them), the Redis rate
limits, the SMS gateway, a job that finds its verification closed ("moot").

Runs, each --seconds long with --clients connections, over all organisations unless said:
  whole verifications - each pgbench transaction a confirm, a job, a start and a job: a
                        job is the oldest ready one, whoever queued it, as a worker takes
                        it, and the confirm is of the client's previous start
  starts only
  starts only, one organisation - its day's counter row lock serialises them
Prints for each the write transactions (commits) a second, the mean latency of one pgbench
transaction (a whole verification, or a start), failures, and the verifications a second
they mean. synchronous_commit stays on, as in production.
"""

import argparse
import difflib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import _bench

# Writing SQL is this script's job: from the models' table and column names, the portal's own
# values and pgbench's variables, nothing from outside.
# ruff: noqa: S608

# The steps of one verification, in order; the worker's two are one pgbench block.
STEPS = ("start", "code job", "confirm", "receipt job")
# Person i of the registry filled: their name, its normalised form, mobile FIRST_MOBILE + i.
PERSON_NAME, PERSON_NORMALISED = "Person {}", "person {}"
FIRST_MOBILE = 6_000_000_000


# --- Django, in this process, on the benchmark's database -------------------------------


def setup_django(database_url: str) -> None:
    """Set Django up in this process on `database_url`, with the test suite's settings and
    the production task queue (a job is a row; a worker runs it); the SMS kept in memory,
    the cache in this process's memory (REDIS_URL and any replicas ignored), only errors
    logged."""
    _bench.use_test_settings()
    for name in ("REDIS_URL", "KYVS_REDIS_CLUSTER", "DATABASE_REPLICA_URLS"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "kyvs.test_settings",
            "DATABASE_URL": database_url,
            "KYVS_TASK_BACKEND": "database",
            "KYVS_SMS_BACKEND": "locmem",
            "KYVS_LOG_LEVEL": "ERROR",
        }
    )
    import django

    django.setup()


# --- one verification through the portal's code, captured -------------------------------


class Trace:
    """What one verification sent and wrote, through the portal's own code.

    `statements`: {step of STEPS: [SQL as sent]}. `rows`: {"verification", "code job",
    "receipt job": (the row as inserted, {attname: value}; the moment before its step)}.
    `beneficiary`: the primary key of the person it was for."""

    def __init__(self):
        self.statements: dict[str, list[str]] = {}
        self.rows: dict[str, tuple[dict, datetime]] = {}
        self.beneficiary: int | None = None


def read_row(model, **lookup) -> dict:
    """The one row of `model` matching `lookup`, every concrete column, {attname: value}."""
    names = [field.attname for field in model._meta.concrete_fields]
    return model.objects.filter(**lookup).values(*names).get()


def run_one_job() -> None:
    """What a worker does with the oldest ready job: django-tasks' own worker, once. The
    worker sets its loggers' levels for its process; they are put back after."""
    import logging

    from django.core.management import call_command

    names = ("django.tasks", "django_tasks", "django_tasks_db")
    loggers = [logging.getLogger(name) for name in names]
    levels = [each.level for each in loggers]
    try:
        call_command("db_worker", "--batch", "--max-tasks", "1", "--no-startup-delay", verbosity=0)
    finally:
        for each, level in zip(loggers, levels, strict=True):
            each.setLevel(level)


def trace_one_verification(organisation, operator) -> Trace:
    """Run one verification for person 1 of the registry, by `operator` of `organisation`,
    through verification/services.py and the task queue's worker; SystemExit if it does
    not go as a verification goes (a code sent, the code accepted)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from verification import delivery, services, sms
    from verification.models import Verification

    trace = Trace()

    def step(name: str, action: Callable):
        began = timezone.now()
        with CaptureQueriesContext(connection) as queries:
            result = action()
        trace.statements[name] = [query["sql"] for query in queries.captured_queries]
        return result, began

    def job_of(task, verification) -> dict:
        jobs = [
            job.pk
            for job in DBTaskResult.objects.filter(task_path=task.module_path)
            if job.args_kwargs["args"][0] == str(verification.public_id)
        ]
        if len(jobs) != 1:
            raise SystemExit(f"{len(jobs)} {task.name} jobs for the traced verification, not 1")
        return read_row(DBTaskResult, pk=jobs[0])

    sms.outbox.clear()
    verification, began = step(
        "start",
        lambda: services.start_verification(
            organisation=organisation,
            operator=operator,
            full_name=PERSON_NAME.format(1),
            mobile=str(FIRST_MOBILE + 1),
            purpose="travel",
            ip="203.0.113.7",
        ),
    )
    trace.rows["verification"] = (read_row(Verification, pk=verification.pk), began)
    trace.rows["code job"] = (job_of(delivery.deliver_code, verification), began)
    trace.beneficiary = verification.beneficiary_id
    if trace.beneficiary is None:
        raise SystemExit("the traced start matched nobody: the registry's person 1 is missing")
    step("code job", run_one_job)
    if len(sms.outbox) != 1:
        raise SystemExit(f"the code job sent {len(sms.outbox)} SMS, not one")
    code = re.search(r"\b\d{4,8}\b", sms.outbox[0].body).group()
    confirmation, began = step(
        "confirm", lambda: services.confirm_verification(verification, code)
    )
    if not confirmation.ok:
        raise SystemExit(f"the traced confirm was refused: {confirmation.reason}")
    trace.rows["receipt job"] = (job_of(delivery.deliver_receipt, verification), began)
    step("receipt job", run_one_job)
    return trace


# --- rows and statements as SQL ---------------------------------------------------------


def quoted(*names: str) -> str:
    """`names` as one quoted identifier: "table", or "table"."column"."""
    return ".".join(f'"{name}"' for name in names)


def literal(value) -> str:
    """`value` (already in the database's terms) as an SQL literal of the default database."""
    from django.db import connection

    return connection.ops.compose_sql("%s", [value])


def select_list(*models) -> str:
    """Every concrete column of each of `models`, qualified, as Django selects a row."""
    return ", ".join(
        quoted(model._meta.db_table, field.column)
        for model in models
        for field in model._meta.concrete_fields
    )


def row_values(
    model,
    row: dict,
    moment: datetime,
    vary: dict[str, str | Callable[[str], str]],
    now: str = "now()",
) -> tuple[str, list[str]]:
    """("(columns)", [SQL expressions]) to insert a row like `row` ({attname: value}, a row of
    `model` the portal wrote at about `moment`) again: every concrete column but an
    auto-incremented key, each with
      - `vary[column]` if given: SQL, or a function of the row's value as an SQL literal;
      - a time within a day of `moment` as the same offset from `now` (SQL);
      - else the row's own value.
    SystemExit, naming the column, for a reference to another row or a unique column that
    `vary` does not give: every row would point at one row or repeat one value. `vary`
    naming no column of `model` is a SystemExit too."""
    from django.db import connection
    from django.db.models.fields import AutoFieldMixin

    table = model._meta.db_table
    fields = [
        field for field in model._meta.concrete_fields if not isinstance(field, AutoFieldMixin)
    ]
    unknown = set(vary) - {field.column for field in fields}
    if unknown:
        raise SystemExit(f"{table} has no column {', '.join(sorted(unknown))}")
    values = []
    for field in fields:
        value = row[field.attname]
        given = vary.get(field.column)
        if isinstance(given, str):
            values.append(given)
            continue
        as_sql = literal(field.get_db_prep_save(value, connection))
        if given is not None:
            values.append(given(as_sql))
        elif value is None:
            values.append("NULL")
        elif field.is_relation or field.unique or field.primary_key:
            raise SystemExit(
                f"{table}.{field.column} is a reference or unique, and this script does not "
                f"say how it varies from row to row: add it where {table}'s rows are made "
                "(scripts/bench_write_rate.py)"
            )
        elif isinstance(value, datetime) and abs(value - moment) < timedelta(days=1):
            seconds = round((value - moment).total_seconds())
            values.append(f"{now} + interval '{seconds} seconds'" if seconds else now)
        else:
            values.append(as_sql)
    return "(" + ", ".join(quoted(field.column) for field in fields) + ")", values


def same_for_every_row(as_sql: str) -> str:
    """For row_values' `vary`: a reference or unique column that keeps the row's value."""
    return as_sql


def insert(model, row, moment, vary, *, returning: str = "") -> str:
    """INSERT ... VALUES of a row like `row` (row_values)."""
    columns, values = row_values(model, row, moment, vary)
    statement = (
        f"INSERT INTO {quoted(model._meta.db_table)} {columns} VALUES ({', '.join(values)})"
    )
    return statement + (f" RETURNING {returning}" if returning else ";")


def the_steps(trace: Trace) -> dict[str, list[str]]:
    """{step of STEPS: pgbench lines}: SQL statements (ending in ; or \\gset) and pgbench
    meta-commands. Variables: org, operator, person (set by the start script); b_id, v_id
    and v_public_id (the beneficiary the start matched, the verification it inserted and
    that one's public id as an SQL literal: the confirm's, set by the start); job_id,
    job_kind (1 a code job, 0 a receipt job, -1 none ready) and job_verification (the public
    id the job names, as an SQL literal), set by the claim; code (the code job's);
    locked_id and locked_beneficiary_id (of the verification the job read)."""
    from django.conf import settings
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult, get_date_max

    from providers.models import Organisation, StartsOfDay
    from verification import delivery
    from verification.models import (
        Beneficiary,
        CitizenRestriction,
        Dose,
        Vaccine,
        Verification,
    )

    v, org = Verification._meta.db_table, Organisation._meta.db_table
    ben, job = Beneficiary._meta.db_table, DBTaskResult._meta.db_table
    days, restriction = StartsOfDay._meta.db_table, CitizenRestriction._meta.db_table
    dose, vaccine = Dose._meta.db_table, Vaccine._meta.db_table
    today = f"(now() AT TIME ZONE {literal(settings.TIME_ZONE)})::date"
    ttl = f"interval '{settings.KYVS_OTP_TTL_SECONDS} seconds'"
    # A new code's hash and its link's digest: new for each code made, the same in the two
    # statements that name the hash.
    code_hash = "encode(sha256(convert_to(:job_verification || ':code:' || :code, 'UTF8')), 'hex')"
    link_digest = (
        "encode(sha256(convert_to(:job_verification || ':link:' || :code, 'UTF8')), 'hex')"
    )

    def job_args(first: str) -> Callable[[str], str]:
        # A job's arguments as the portal queued them, the verification's public id first.
        return lambda as_sql: f"jsonb_set({as_sql}, '{{args,0}}', to_jsonb({first}::text))"

    def job_insert(kind: str, public_id: str) -> str:
        row, moment = trace.rows[kind]
        if row["args_kwargs"]["args"][0] != str(trace.rows["verification"][0]["public_id"]):
            raise SystemExit(
                f"the {kind}'s first argument is no longer the verification's public id"
            )
        return insert(
            DBTaskResult,
            row,
            moment,
            {"id": "gen_random_uuid()", "args_kwargs": job_args(public_id)},
        )

    row, moment = trace.rows["verification"]
    verification_insert = insert(
        Verification,
        row,
        moment,
        {
            "public_id": "gen_random_uuid()",
            "organisation_id": ":org",
            "operator_id": ":operator",
            "beneficiary_id": ":b_id",
        },
        # The portal returns the key alone (it made the public id); the confirm needs both.
        returning=f"{quoted(v, 'id')}, quote_literal({quoted(v, 'public_id')}) AS "
        f"{quoted('public_id')} \\gset v_",
    )

    def verification_read(public_id: str, condition: str, tail: str, end: str = ";") -> str:
        # A verification with its organisation, by public id, as Verification.objects.locked()
        # and the receipt job read it. The organisation's columns come first here: pgbench's
        # \gset keeps the last column of a name, and the verification's id is the one wanted.
        return (
            f"SELECT {select_list(Organisation, Verification)} FROM {quoted(v)} "
            f"LEFT OUTER JOIN {quoted(org)} ON ({quoted(v, 'organisation_id')} = "
            f"{quoted(org, 'id')}) WHERE {quoted(v, 'public_id')} = {public_id}{condition} "
            f"{tail}{end}"
        )

    # What Beneficiary.objects.mobile_of sends: the mobile alone, by the beneficiary's key.
    mobile_of = (
        f"SELECT {quoted(ben, 'mobile')} AS {quoted('mobile')} FROM {quoted(ben)} "
        f"WHERE {quoted(ben, 'id')} = :locked_beneficiary_id ORDER BY {quoted(ben, 'id')} "
        "ASC LIMIT 1;"
    )
    # What QuerySet.first() adds: the model's ordering, one row.
    first = (
        "ORDER BY "
        + ", ".join(
            quoted(v, Verification._meta.get_field(name.lstrip("-")).column)
            + (" DESC" if name.startswith("-") else " ASC")
            for name in Verification._meta.ordering
        )
        + " LIMIT 1"
    )
    ready = TaskResultStatus.READY
    claim_inner = (
        f"SELECT {select_list(DBTaskResult)} FROM {quoted(job)} "
        f"WHERE ({quoted(job, 'status')} = {literal(ready)} AND ({quoted(job, 'run_after')} = "
        f"{literal(get_date_max())} OR {quoted(job, 'run_after')} <= now()) AND "
        f"{quoted(job, 'backend_name')} = 'default' AND {quoted(job, 'queue_name')} IN "
        f"('default')) ORDER BY {quoted(job, 'priority')} DESC, {quoted(job, 'run_after')} ASC, "
        f"{quoted(job, 'enqueued_at')} ASC LIMIT 1 FOR UPDATE SKIP LOCKED"
    )
    claim = [
        "BEGIN;",
        # One row whether or not a job is ready; the claim itself is the worker's query.
        # The job's key is a UUID: kept quoted, to be written into the statements as is.
        f"SELECT quote_literal(coalesce(j.{quoted('id')}, "
        "'00000000-0000-0000-0000-000000000000')) AS job_id, "
        f"quote_literal(coalesce((j.{quoted('args_kwargs')} -> 'args') ->> 0, '')) "
        f"AS job_verification, CASE j.{quoted('task_path')} "
        f"WHEN {literal(delivery.deliver_code.module_path)} THEN 1 "
        f"WHEN {literal(delivery.deliver_receipt.module_path)} THEN 0 ELSE -1 END AS job_kind "
        f"FROM (SELECT 1) AS one LEFT JOIN LATERAL ({claim_inner}) AS j ON true \\gset",
        f"UPDATE {quoted(job)} SET {quoted('status')} = {literal(TaskResultStatus.RUNNING)}, "
        f"{quoted('started_at')} = now(), {quoted('worker_ids')} = "
        f"'[\"bench-worker\"]'::jsonb WHERE {quoted(job, 'id')} = :job_id;",
        "COMMIT;",
    ]
    done = (
        f"UPDATE {quoted(job)} SET {quoted('status')} = "
        f"{literal(TaskResultStatus.SUCCESSFUL)}, {quoted('finished_at')} = now(), "
        f"{quoted('return_value')} = '\"sent\"'::jsonb, {quoted('exception_class_path')} = '', "
        f"{quoted('traceback')} = '' WHERE {quoted(job, 'id')} = :job_id;"
    )
    sending, sent = Verification.Delivery.SENDING, Verification.Delivery.SENT
    return {
        "start": [
            "\\set org random(:orgmin, :orgmax)",
            "\\set operator :org + :operator_offset",
            "\\set person random(1, :people)",
            # The match and the citizen's restrictions, before the transaction.
            f"SELECT {select_list(Beneficiary)} FROM {quoted(ben)} "
            f"WHERE ({quoted(ben, 'mobile')} = ({FIRST_MOBILE} + :person)::text AND "
            f"{quoted(ben, 'name_normalised')} = 'person ' || :person) LIMIT 2 \\gset b_",
            f"SELECT {quoted(restriction, 'organisation_id')} AS {quoted('organisation_id')} "
            f"FROM {quoted(restriction)} "
            f"WHERE ({quoted(restriction, 'beneficiary_id')} = :b_id AND "
            f"({quoted(restriction, 'organisation_id')} IS NULL OR "
            f"{quoted(restriction, 'organisation_id')} = :org)) LIMIT 2;",
            "BEGIN;",
            f"SELECT {select_list(Organisation)} FROM {quoted(org)} "
            f"WHERE {quoted(org, 'id')} = :org LIMIT 21;",
            # Organisation.take_start: count the start and read the day's count back.
            f"INSERT INTO {quoted(days)} ({quoted('organisation_id')}, {quoted('day')}, "
            f"{quoted('started')}) VALUES (:org, {today}, 1) ON CONFLICT "
            f"({quoted('organisation_id')}, {quoted('day')}) DO UPDATE SET "
            f"{quoted('started')} = {quoted(days)}.{quoted('started')} + 1 "
            f"RETURNING {quoted('started')};",
            verification_insert,
            job_insert("code job", ":v_public_id"),
            "COMMIT;",
        ],
        "code job": [
            *claim,
            "\\set code random(0, 999999)",
            "BEGIN;",
            verification_read(
                ":job_verification",
                "",
                f"{first} FOR UPDATE OF {quoted(v)}",
                end=" \\gset locked_",
            ),
            f"UPDATE {quoted(v)} SET {quoted('otp_hash')} = {code_hash}, "
            f"{quoted('otp_expires_at')} = now() + {ttl}, {quoted('code_delivery')} = "
            f"{literal(sending)}, {quoted('delivery_attempts')} = "
            f"{quoted('delivery_attempts')} + 1, {quoted('approve_digest')} = {link_digest} "
            f"WHERE {quoted(v, 'id')} = :locked_id;",
            mobile_of,
            "COMMIT;",
            f"UPDATE {quoted(v)} SET {quoted('code_delivery')} = {literal(sent)} "
            f"WHERE ({quoted(v, 'code_delivery')} = {literal(sending)} AND "
            f"{quoted(v, 'otp_hash')} = {code_hash} AND {quoted(v, 'public_id')} = "
            ":job_verification);",
            done,
        ],
        "confirm": [
            "BEGIN;",
            verification_read(":v_public_id", "", f"LIMIT 21 FOR UPDATE OF {quoted(v)}"),
            f"UPDATE {quoted(v)} SET {quoted('state')} = "
            f"{literal(Verification.State.VERIFIED)}, {quoted('otp_hash')} = '', "
            f"{quoted('approve_digest')} = '', {quoted('finished_at')} = now() "
            f"WHERE {quoted(v, 'id')} = :v_id;",
            job_insert("receipt job", ":v_public_id"),
            "COMMIT;",
            # The result, once the transaction has committed.
            f"SELECT {select_list(Dose, Vaccine)} FROM {quoted(dose)} INNER JOIN "
            f"{quoted(vaccine)} ON ({quoted(dose, 'vaccine_id')} = {quoted(vaccine, 'id')}) "
            f"WHERE {quoted(dose, 'beneficiary_id')} = :b_id ORDER BY {quoted(dose, 'date')} "
            f"ASC, {quoted(dose, 'dose_number')} ASC;",
        ],
        "receipt job": [
            *claim,
            verification_read(
                ":job_verification",
                f" AND {quoted(v, 'state')} = {literal(Verification.State.VERIFIED)}",
                first,
                end=" \\gset locked_",
            ),
            mobile_of,
            done,
        ],
    }


def pgbench_scripts(steps: dict[str, list[str]]) -> dict[str, str]:
    """{file name: pgbench script}: "start.sql" (a start) and "verification.sql" (a confirm,
    a job, a start, a job). A job runs as the kind of job it claimed: the lines of "code
    job" or "receipt job" after the claim, or none if no job was ready. The confirm is of
    the client's previous start (v_id, v_public_id and b_id, which the start sets; at first
    the ones pgbench is given), whose code the workers have sent meanwhile, as a customer's
    code comes before their confirm. The confirm comes first because pgbench cannot copy a
    text variable (the public id) to keep it past the next start."""
    claim = steps["code job"].index("COMMIT;") + 1
    job = [
        *steps["code job"][:claim],
        "\\if :job_kind = 1",
        *steps["code job"][claim:],
        "\\elif :job_kind = 0",
        *steps["receipt job"][claim:],
        "\\endif",
    ]
    return {
        "start.sql": "\n".join(steps["start"]) + "\n",
        "verification.sql": "\n".join([*steps["confirm"], *job, *steps["start"], *job]) + "\n",
    }


# --- comparing the two ------------------------------------------------------------------


def shape(statement: str) -> str | None:
    """What a statement is, for comparing the benchmark's with the portal's: BEGIN, COMMIT,
    or its verb and first table, the tables it joins (named in double quotes, as Django
    names them), FOR UPDATE if it locks rows, and an INSERT's columns. None for a pgbench
    meta-command. A savepoint is taken as the transaction it stands for."""
    text = re.sub(r"\s*(;|\\gset\b.*)$", "", statement.strip())
    if text.startswith("\\"):
        return None
    upper = text.upper()
    if upper == "BEGIN" or upper.startswith("SAVEPOINT"):
        return "BEGIN"
    if upper == "COMMIT" or upper.startswith("RELEASE SAVEPOINT"):
        return "COMMIT"
    verb = upper.split(None, 1)[0]
    where = {"SELECT": r"\bFROM\s+\"?(\w+)", "INSERT": r"\bINTO\s+\"?(\w+)"}
    table = re.search(where.get(verb, r"^\w+\s+\"?(\w+)"), text, re.IGNORECASE)
    described = f"{verb} {table.group(1) if table else '?'}"
    for joined in re.findall(r"\bJOIN\s+\"(\w+)\"", text, re.IGNORECASE):
        described += f" JOIN {joined}"
    if re.search(r"\bFOR UPDATE\b", text, re.IGNORECASE):
        described += " FOR UPDATE"
    if verb == "INSERT":
        columns = re.search(r"\bINTO\s+\S+\s*\(([^)]*)\)", text, re.IGNORECASE)
        described += f" ({columns.group(1).replace(chr(34), '')})" if columns else ""
    return described


def shapes(statements: list[str]) -> list[str]:
    return [described for described in map(shape, statements) if described is not None]


def differences(trace: Trace, steps: dict[str, list[str]]) -> str:
    """'' if each step's statements in `steps` have the shapes of the ones the portal sent
    in `trace`, else a diff per step that differs (- the portal, + this script)."""
    found = []
    for name in STEPS:
        diff = list(
            difflib.unified_diff(
                shapes(trace.statements[name]),
                shapes(steps[name]),
                f"{name}, as the portal sent it",
                f"{name}, as this script sends it",
                lineterm="",
                n=1,
            )
        )
        found.extend(diff)
    return "\n".join(found)


def check_statements(trace: Trace, steps: dict[str, list[str]]) -> None:
    """SystemExit, with the difference, unless the script sends what the portal sent."""
    found = differences(trace, steps)
    if found:
        raise SystemExit(
            "scripts/bench_write_rate.py no longer sends what a verification sends; change "
            f"its statements (the_steps) to match:\n{found}"
        )


def commits(statements: list[str]) -> int:
    """The write transactions among `statements`: each COMMIT, and each INSERT, UPDATE or
    DELETE sent outside a transaction."""
    count, inside = 0, False
    for described in shapes(statements):
        if described == "BEGIN":
            inside = True
        elif described == "COMMIT":
            count, inside = count + 1, False
        elif not inside and described.split()[0] in {"INSERT", "UPDATE", "DELETE"}:
            count += 1
    return count


# --- the database: filled, traced ------------------------------------------------------


def key_range(model) -> tuple[int, int]:
    """(lowest, highest) primary key of `model`'s rows; SystemExit unless they run without a
    gap (pgbench picks rows by a key drawn at random between the two)."""
    from django.db.models import Count, Max, Min

    found = model.objects.aggregate(low=Min("pk"), high=Max("pk"), rows=Count("pk"))
    if not found["rows"] or found["high"] - found["low"] + 1 != found["rows"]:
        raise SystemExit(f"{model._meta.db_table}'s keys have gaps: {found}")
    return found["low"], found["high"]


def fill(args) -> tuple[Trace, dict[str, int | str]]:
    """Fill the default database (migrated, empty) for the benchmark and trace one
    verification on it (trace_one_verification, for person 1 by the first organisation's
    operator); returns the trace and pgbench's variables: orgmin and orgmax (the
    organisations' keys), people, operator_offset (an organisation's operator's key less
    its own), v_id, v_public_id (an SQL literal) and b_id (the traced verification and its
    beneficiary: what a client confirms first). `args`: organisations, people (at least 1),
    verifications. The older verifications are copies of the traced one, a day older."""
    from datetime import date

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from providers.models import Membership, Organisation, StartsOfDay
    from tests.factories import make_member, make_organisation
    from verification.models import Beneficiary, Dose, Vaccine, Verification
    from verification.registry import normalise_name

    if normalise_name(PERSON_NAME.format(12)) != PERSON_NORMALISED.format(12):
        raise SystemExit("names are normalised otherwise now: change the registry's fill")
    for n in range(args.organisations):
        make_member(make_organisation(name=f"Bench {n}", daily_quota=10**9))
    today = timezone.localdate()
    StartsOfDay.objects.bulk_create(
        StartsOfDay(organisation=organisation, day=day, started=0)
        for organisation in Organisation.objects.all()
        for day in (today, today + timedelta(days=1))
    )
    offsets = {m.user_id - m.organisation_id for m in Membership.objects.all()}
    if len(offsets) != 1:
        raise SystemExit("the operators' keys do not follow their organisations' keys")
    operator_offset = offsets.pop()
    vaccine = Vaccine.objects.create(name="Bench", primary_doses_required=2)
    person = Beneficiary.objects.create(
        reference_id="1".zfill(14),
        name=PERSON_NAME.format(1),
        mobile=str(FIRST_MOBILE + 1),
        birth_year=1951,
        gender=Beneficiary.Gender.FEMALE,
    )
    first_dose = Dose.objects.create(
        beneficiary=person,
        vaccine=vaccine,
        dose_number=1,
        kind=Dose.Kind.PRIMARY,
        date=date(2021, 8, 24),
        centre="PHC Bench",
        district="Vadodara",
        state="Gujarat",
    )
    organisation = Organisation.objects.order_by("pk").first()
    # With its membership, as the request's sign-in reads it (providers/auth.py).
    operator = (
        get_user_model()
        .objects.select_related("membership")
        .get(membership__organisation=organisation)
    )
    trace = trace_one_verification(organisation, operator)

    moment = timezone.now()
    columns, values = row_values(
        Beneficiary,
        read_row(Beneficiary, pk=person.pk),
        moment,
        {
            "reference_id": "lpad(i::text, 14, '0')",
            "name": f"'{PERSON_NAME.format('')}' || i",
            "name_normalised": f"'{PERSON_NORMALISED.format('')}' || i",
            "mobile": f"({FIRST_MOBILE} + i)::text",
            "birth_year": "1950 + i % 50",
        },
    )
    execute(
        f"INSERT INTO {quoted(Beneficiary._meta.db_table)} {columns} "
        f"SELECT {', '.join(values)} FROM generate_series(2, {args.people}) AS i"
    )
    columns, values = row_values(
        Dose,
        read_row(Dose, pk=first_dose.pk),
        moment,
        {
            "beneficiary_id": "b.id",
            "vaccine_id": same_for_every_row,
            "dose_number": "n",
            "date": "date '2021-06-01' + n * 84",
        },
    )
    execute(
        f"INSERT INTO {quoted(Dose._meta.db_table)} {columns} SELECT {', '.join(values)} "
        f"FROM {quoted(Beneficiary._meta.db_table)} AS b, generate_series(1, 2) AS n "
        f"WHERE b.id <> {person.pk} AND (n = 1 OR b.id % 2 = 0)"
    )
    orgmin, orgmax = key_range(Organisation)
    bmin, _ = key_range(Beneficiary)
    organisation_of_i = f"{orgmin} + i % {orgmax - orgmin + 1}"
    row, moment = trace.rows["verification"]
    columns, values = row_values(
        Verification,
        row,
        moment,
        {
            "public_id": "gen_random_uuid()",
            "organisation_id": organisation_of_i,
            "operator_id": f"{organisation_of_i} + {operator_offset}",
            "beneficiary_id": f"{bmin} + i % {args.people}",
        },
        now="now() - interval '1 day'",
    )
    execute(
        f"INSERT INTO {quoted(Verification._meta.db_table)} {columns} "
        f"SELECT {', '.join(values)} FROM generate_series(1, {args.verifications}) AS i"
    )
    return trace, {
        "orgmin": orgmin,
        "orgmax": orgmax,
        "people": args.people,
        "operator_offset": operator_offset,
        "v_id": row["id"],
        "v_public_id": literal(str(row["public_id"])),
        "b_id": trace.beneficiary,
    }


def execute(statement: str) -> None:
    """Run `statement` on the default database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement)


# --- pgbench ----------------------------------------------------------------------------


def pgbench_path(maintenance) -> str:
    """pgbench on PATH, else the one of the server's major version; SystemExit if neither."""
    found = shutil.which("pgbench")
    if found:
        return found
    version = int(maintenance.execute("SHOW server_version_num").fetchone()[0]) // 10000
    candidate = Path(f"/usr/lib/postgresql/{version}/bin/pgbench")
    if candidate.exists():
        return str(candidate)
    raise SystemExit("pgbench not found (Debian: it comes with postgresql-client)")


def pgbench_command(pgbench: str, url: str, script: Path, variables: dict, clients: int):
    """pgbench's command line, without the length of the run: `script` with `clients`
    connections (threads: at most 2) to the database `url` (pgbench takes the URL whole,
    password and all), -D for each of `variables`."""
    command = [pgbench, "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-r"]
    command += ["-f", str(script)]
    for key, value in variables.items():
        command += ["-D", f"{key}={value}"]
    return [*command, url]


def run_pgbench(command: list[str], length: list[str], timeout: float) -> dict:
    """Run `command` (pgbench_command) for `length` (["-T", seconds] or ["-t", runs per
    client]): its transactions a second, mean latency (ms), failed transactions and whole
    report. SystemExit, with pgbench's errors, if it fails (a client that meets an error
    aborts the run)."""
    run = subprocess.run(  # noqa: S603 (pgbench, with our own arguments)
        [*command[:-1], *length, command[-1]],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if run.returncode:
        raise SystemExit(f"pgbench failed ({run.returncode}):\n{run.stderr[-3000:]}")
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
    import psycopg

    bench_url = _bench.with_database(args.database_url, args.database_name)
    maintenance = psycopg.connect(args.database_url, autocommit=True)
    pgbench = pgbench_path(maintenance)
    folder = Path(tempfile.mkdtemp(prefix="kyvs-bench-writes-"))
    try:
        _bench.create_database(maintenance, args.database_name)
        setup_django(bench_url)
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", "--noinput", verbosity=0)
        trace, variables = fill(args)
        steps = the_steps(trace)
        check_statements(trace, steps)
        execute("VACUUM ANALYZE")
        connection.close()
        for name, text in pgbench_scripts(steps).items():
            (folder / name).write_text(text, encoding="utf-8")
        one_organisation = {**variables, "orgmax": variables["orgmin"]}
        per_verification = sum(commits(trace.statements[name]) for name in STEPS)
        per_start = commits(trace.statements["start"])
        runs = [
            (
                "whole verifications, all organisations",
                "verification.sql",
                variables,
                per_verification,
            ),
            ("starts only, all organisations", "start.sql", variables, per_start),
            ("starts only, one organisation", "start.sql", one_organisation, per_start),
        ]
        print(
            f"pgbench {args.clients} clients, {args.seconds} s a run; {args.organisations} "
            f"organisations, {args.people:,} beneficiaries, {args.verifications:,} older "
            f"verifications; a verification commits {per_verification} write transactions, "
            f"a start {per_start}; load before: {_bench.load_average()}",
            flush=True,
        )
        print("| run | write transactions/s | mean latency | failed | verifications/s |")
        print("|---|---|---|---|---|")
        for title, script, run_variables, per_run in runs:
            command = pgbench_command(
                pgbench, bench_url, folder / script, run_variables, args.clients
            )
            result = run_pgbench(command, ["-T", str(args.seconds)], args.seconds + 120)
            if args.verbose:
                print(result["output"])
            print(
                f"| {title} | {result['tps'] * per_run:.0f} | {result['latency']:.1f} ms | "
                f"{result['failed']} | {result['tps']:.0f} |",
                flush=True,
            )
        print(f"load after: {_bench.load_average()}")
    finally:
        _bench.drop_database(maintenance, args.database_name)
        maintenance.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
