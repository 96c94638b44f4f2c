"""import_registry as a real process against PostgreSQL, killed or held up half-way.

Each test starts `manage.py import_registry` on the test database and waits, with a time
limit, for something the database shows: the beneficiary sequence having handed out half
of the file's new ids, or the import waiting for a lock the test holds.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from kyvs.mobile import mask_mobile
from tests.conftest import requires_postgresql
from tests.factories import make_member, make_organisation
from tests.processes import database_url
from verification import importer
from verification.models import Beneficiary, Dose, Vaccine, Verification
from verification.sample_registry import write_big_registry

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 120.0  # seconds any one wait may take on a busy machine

pytestmark = [
    requires_postgresql,
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def covishield():
    """The one vaccine of the sample registry. It comes from a data migration, which the
    flush after another transactional test may have emptied."""
    Vaccine.objects.get_or_create(name="Covishield", defaults={"primary_doses_required": 2})


def start_import(path: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kyvs.test_settings",
        "DATABASE_URL": database_url(),
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", "import_registry", str(path)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_until(condition, process: subprocess.Popen, log: Path, what: str) -> None:
    """Poll `condition` until it holds; fail if the import exits first or LIMIT passes."""
    deadline = time.monotonic() + LIMIT
    while not condition():
        if process.poll() is not None:
            output = log.read_text()[-2000:]
            pytest.fail(f"the import exited ({process.returncode}) before {what}: {output}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"no {what} within {LIMIT:.0f} s")
        time.sleep(0.02)  # between polls only; the condition is what is waited for


def next_beneficiary_id() -> int:
    """The sequence's next value, seen outside any transaction (sequences are not rolled
    back, so it shows how far the import's uncommitted writing has come)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END FROM "
            "verification_beneficiary_id_seq"
        )
        return cursor.fetchone()[0]


def blocked_elsewhere(*not_these: int) -> bool:
    """Whether a backend on this database, other than ours and `not_these`, waits for a
    lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND pid <> ALL(%s)",
            [list(not_these)],
        )
        return cursor.fetchone()[0] > 0


def registry() -> tuple[list, list]:
    return (
        sorted(
            Beneficiary.objects.values_list(
                "reference_id", "name", "name_normalised", "mobile", "birth_year", "gender"
            )
        ),
        sorted(
            Dose.objects.values_list(
                "beneficiary__reference_id", "vaccine__name", "dose_number", "kind", "date"
            )
        ),
    )


def test_an_import_killed_half_way_through_writing_leaves_the_registry_as_it_was(tmp_path):
    previous = tmp_path / "previous.csv"
    write_big_registry(previous, 2_000)
    importer.import_csv(previous)
    before = registry()
    # The new file renames the people already registered and adds many more.
    path = tmp_path / "registry.csv"
    people, doses = write_big_registry(path, 100_000)
    text = path.read_text(encoding="utf-8").replace("Person Number", "Person No.")
    path.write_text(text, encoding="utf-8")
    new_people = people - len(before[0])
    first_new_id = next_beneficiary_id()
    log = tmp_path / "import.log"

    process = start_import(path, log)
    wait_until(
        lambda: next_beneficiary_id() >= first_new_id + new_people // 2,
        process,
        log,
        "half of the new beneficiaries were being written",
    )
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=LIMIT)

    assert process.returncode == -signal.SIGKILL
    assert registry() == before
    rerun = start_import(path, tmp_path / "rerun.log")
    assert rerun.wait(timeout=LIMIT * 3) == 0, (tmp_path / "rerun.log").read_text()[-2000:]
    assert Beneficiary.objects.count() == people
    assert Dose.objects.count() == doses
    assert not Beneficiary.objects.filter(name__startswith="Person Number").exists()


def test_an_import_holds_other_writers_of_the_registry_back_but_not_readers(tmp_path):
    previous = tmp_path / "previous.csv"
    registered, _ = write_big_registry(previous, 20)
    importer.import_csv(previous)
    someone = Beneficiary.objects.first()
    organisation = make_organisation(name="Front Desk Travels")
    operator = make_member(organisation, "front-desk")
    path = tmp_path / "registry.csv"
    people, _ = write_big_registry(path, 200)
    log = tmp_path / "import.log"
    # Holding the vaccines' rows stops the import at its first dose (its foreign key
    # check waits for them), after it has begun writing: a state to look at, not a race.
    with psycopg.connect(database_url()) as vaccines_held:
        vaccines_held.execute("SELECT id FROM verification_vaccine FOR UPDATE")
        process = start_import(path, log)
        holder = vaccines_held.info.backend_pid
        wait_until(lambda: blocked_elsewhere(holder), process, log, "wait for the vaccines")

        # Another writer waits for the import...
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
            with pytest.raises(OperationalError, match="lock timeout"):
                Beneficiary.objects.create(
                    reference_id="99999999999999",
                    name="Late Comer",
                    mobile="9999999999",
                    birth_year=1990,
                    gender="F",
                )
            cursor.execute("SET lock_timeout = 0")
        # ...while the registry is read and verifications are recorded as usual.
        assert Beneficiary.objects.count() == registered
        now = timezone.now()
        Verification.objects.create(
            organisation=organisation,
            operator=operator,
            channel=Verification.Channel.WEB,
            purpose="travel",
            scopes=["status"],
            beneficiary=someone,
            mobile_masked=mask_mobile(someone.mobile),
            otp_hash="0" * 64,
            otp_sent_at=now,
            otp_expires_at=now,
        )
        vaccines_held.rollback()

    assert process.wait(timeout=LIMIT) == 0, log.read_text()[-2000:]
    assert Beneficiary.objects.count() == people
