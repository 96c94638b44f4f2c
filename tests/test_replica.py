"""Registry reads on a real PostgreSQL streaming replica (kyvs/db_router.py).

Runs when KYVS_TEST_DATABASE_REPLICA_URL names a streaming replica of the test database's
server, without a database name, as .ci/run sets it:

    ./scripts/pg_replica start
    KYVS_TEST_DATABASE_REPLICA_URL="$(./scripts/pg_replica url)" \\
        ./scripts/test tests/test_replica.py

Inside the suite every replica alias mirrors the primary (Django's TEST MIRROR), so the
lookup through the router is made by a process of its own (tests/replica_probe.py) whose
settings name the real replica. Replay is paused on the replica while a row is written on
the primary: the router's lookup then cannot see the row, which only a read on the replica
explains; once replay resumes and the replica has applied the primary's WAL up to that
write (waited for by position, with a time limit), the same lookup finds it.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.factories import make_beneficiary, make_member, make_organisation
from tests.processes import database_url

ROOT = Path(__file__).resolve().parent.parent
REPLICA_URL = os.environ.get("KYVS_TEST_DATABASE_REPLICA_URL", "").rstrip("/")

pytestmark = [
    pytest.mark.skipif(
        not REPLICA_URL or connection.vendor != "postgresql",
        reason="needs a streaming replica of the test database's PostgreSQL: "
        "./scripts/pg_replica start, then KYVS_TEST_DATABASE_REPLICA_URL",
    ),
    pytest.mark.django_db(transaction=True),
]


def primary_position() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def wait_until_replayed(replica: psycopg.Connection, position: str, limit: float = 30) -> None:
    """Return once the replica has applied the primary's WAL up to `position`."""
    deadline = time.monotonic() + limit
    while True:
        replayed = replica.execute(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position]
        ).fetchone()[0]
        if replayed:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the replica had not replayed up to {position} in {limit}s")
        time.sleep(0.05)  # between polls only; the position is what is waited for


def probe(name: str, mobile: str, *more: str) -> dict:
    test_database = connection.settings_dict["NAME"]
    run = subprocess.run(
        [sys.executable, "-m", "tests.replica_probe", name, mobile, *more],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kyvs.test_settings",
            "DATABASE_URL": database_url(),
            "DATABASE_REPLICA_URLS": f"{REPLICA_URL}/{test_database}",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


@pytest.fixture
def replica():
    with psycopg.connect(f"{REPLICA_URL}/postgres", autocommit=True) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0], "not a replica"
        # The test database was created on the primary after the replica was made.
        wait_until_replayed(conn, primary_position())
        yield conn
        conn.execute("SELECT pg_wal_replay_resume() WHERE pg_is_wal_replay_paused()")


def test_a_registry_lookup_reads_the_replica_and_finds_a_new_row_once_replayed(replica):
    replica.execute("SELECT pg_wal_replay_pause()")
    try:
        asha = make_beneficiary(name="Asha Patel", mobile="9876543210")  # committed
        written_at = primary_position()
        paused = probe("Asha Patel", "9876543210")
    finally:
        replica.execute("SELECT pg_wal_replay_resume()")

    assert paused["outside"]["alias"] == "replica_1"
    assert paused["outside"]["in_recovery"] is True
    assert paused["outside"]["found"] == []  # on the primary since the insert committed
    # Inside a transaction the lookup stays on the primary and sees the row.
    inside = paused["inside_transaction"]
    assert (inside["alias"], inside["found"], inside["in_recovery"]) == (
        "default",
        [asha.pk],
        False,
    )
    assert paused["verifications"] == "default"

    wait_until_replayed(replica, written_at)
    replayed = probe("Asha Patel", "9876543210")
    assert replayed["outside"]["alias"] == "replica_1"
    assert replayed["outside"]["found"] == [asha.pk]
    assert replayed["outside"]["in_recovery"] is True
    # The person's doses are read where the person was found.
    assert [d["alias"] for d in replayed["doses"]] == ["replica_1"]


def test_a_start_matches_on_the_replica_outside_its_transaction(replica):
    organisation = make_organisation(name="Sahyatri Travels")
    bob = make_member(organisation, "bob")
    start = ("--start", str(organisation.pk), str(bob.pk))
    replica.execute("SELECT pg_wal_replay_pause()")
    try:
        asha = make_beneficiary(name="Asha Patel", mobile="9876543210")  # committed
        written_at = primary_position()
        paused = probe("Asha Patel", "9876543210", *start)
    finally:
        replica.execute("SELECT pg_wal_replay_resume()")

    # Only a match on the replica explains missing a person the primary has.
    assert paused == {"beneficiary": None, "registry_reads": ["replica_1"]}

    wait_until_replayed(replica, written_at)
    replayed = probe("Asha Patel", "9876543210", *start)
    # The match on the replica; the SMS job's read of her mobile, in its transaction (the
    # suite's queue runs it inside the request), on the primary.
    assert replayed == {"beneficiary": asha.pk, "registry_reads": ["replica_1", "default"]}
