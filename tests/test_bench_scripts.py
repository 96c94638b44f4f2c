"""scripts/bench_write_rate.py keeps measuring today's write path: what it sends has the
shape of what a verification sends through the portal's code, and its pgbench scripts run
against today's schema (one round each, on the test database, with pgbench)."""

import sys
from argparse import Namespace
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests.conftest import requires_postgresql
from verification import delivery
from verification.models import Verification

sys.path.append(str(django_settings.BASE_DIR / "scripts"))
import bench_write_rate  # noqa: E402 (a script: its folder is put on the path above)

pytestmark = [requires_postgresql, pytest.mark.django_db(transaction=True)]

SMALL = Namespace(organisations=2, people=20, verifications=10)
JOBS = (delivery.deliver_code, delivery.deliver_receipt)


@pytest.fixture
def traced(settings, sms_outbox):
    """The benchmark's database, small, on the test database, and the verification traced
    on it through the portal's code: (trace, pgbench's variables)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    return bench_write_rate.fill(SMALL)


def test_the_write_rate_benchmark_sends_the_statements_of_a_verification(traced):
    trace, _variables = traced
    steps = bench_write_rate.the_steps(trace)
    assert bench_write_rate.differences(trace, steps) == ""
    bench_write_rate.check_statements(trace, steps)


def test_a_statement_the_benchmark_leaves_out_stops_it_with_the_difference(traced):
    trace, _variables = traced
    steps = bench_write_rate.the_steps(trace)
    steps["start"] = [line for line in steps["start"] if "providers_startsofday" not in line]
    with pytest.raises(SystemExit) as stopped:
        bench_write_rate.check_statements(trace, steps)
    assert "-INSERT providers_startsofday" in str(stopped.value)


def test_a_table_the_benchmark_joins_and_the_portal_does_not_stops_it(traced):
    trace, _variables = traced
    steps = bench_write_rate.the_steps(trace)
    joined = ' LEFT OUTER JOIN "verification_beneficiary" ON ("verification_verification".'
    joined += '"beneficiary_id" = "verification_beneficiary"."id") WHERE'
    steps["confirm"] = [
        line.replace(" WHERE", joined, 1) if "FOR UPDATE" in line else line
        for line in steps["confirm"]
    ]
    with pytest.raises(SystemExit) as stopped:
        bench_write_rate.check_statements(trace, steps)
    assert (
        "+SELECT verification_verification JOIN providers_organisation "
        "JOIN verification_beneficiary FOR UPDATE"
    ) in str(stopped.value)


def test_a_reference_the_benchmark_does_not_vary_stops_it_by_name(traced):
    trace, _variables = traced
    row, moment = trace.rows["verification"]
    vary = {"public_id": "gen_random_uuid()", "beneficiary_id": ":b_id", "operator_id": "1"}
    with pytest.raises(SystemExit, match="verification_verification.organisation_id"):
        bench_write_rate.row_values(Verification, row, moment, vary)


def test_the_write_rate_benchmarks_pgbench_scripts_run_on_todays_schema(traced, tmp_path):
    trace, variables = traced
    scripts = bench_write_rate.pgbench_scripts(bench_write_rate.the_steps(trace))
    database = connection.settings_dict
    url = (
        f"postgres://{quote(database['USER'] or '', safe='')}:"
        f"{quote(database['PASSWORD'] or '', safe='')}@{database['HOST'] or 'localhost'}:"
        f"{database['PORT'] or 5432}/{quote(database['NAME'], safe='')}"
    )
    connection.ensure_connection()
    pgbench = bench_write_rate.pgbench_path(connection.connection)
    before = Verification.objects.count()
    done = DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL)
    jobs_before = {task: done.filter(task_path=task.module_path).count() for task in JOBS}
    for name, text in scripts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        command = bench_write_rate.pgbench_command(pgbench, url, tmp_path / name, variables, 2)
        result = bench_write_rate.run_pgbench(command, ["-t", "2"], timeout=60)
        assert result["failed"] == 0
    # Two clients, two rounds of each script: a start each.
    assert Verification.objects.count() == before + 8
    assert Verification.objects.filter(state=Verification.State.VERIFIED).count() >= 2
    # The worker's part ran as each kind of job it claimed: code jobs and receipt jobs done.
    for task in JOBS:
        assert done.filter(task_path=task.module_path).count() > jobs_before[task]
