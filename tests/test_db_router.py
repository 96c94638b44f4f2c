"""The replica rule of kyvs/db_router.py, decided without a replica (tests/test_replica.py
checks it against a real one), and how DATABASE_REPLICA_URLS becomes settings."""

import json
import os
import re
import subprocess
import sys
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, connection, transaction

from kyvs.converters import CompactUuidConverter
from kyvs.db_router import ReplicaRouter
from providers.models import ApiKey, Organisation
from tests.conftest import otp_from
from tests.factories import add_dose, make_beneficiary, make_member, make_organisation, start_for
from tests.test_settings import ROOT, check_with
from verification import services
from verification.models import Beneficiary, Dose, Vaccine, Verification

router = ReplicaRouter()
REPLICAS = ["replica_1", "replica_2"]


@pytest.fixture
def replicas(settings):
    settings.KYVS_DATABASE_REPLICAS = REPLICAS


@pytest.mark.parametrize("model", [Beneficiary, Dose, Vaccine])
def test_registry_reads_go_to_a_replica(replicas, model):
    assert {router.db_for_read(model) for _ in range(50)} == set(REPLICAS)


@pytest.mark.parametrize("model", [Verification, Organisation, ApiKey, get_user_model(), Session])
def test_everything_else_is_read_on_the_primary(replicas, model):
    assert router.db_for_read(model) == "default"


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_registry_reads_stay_on_the_primary(replicas):
    assert router.db_for_read(Beneficiary) in REPLICAS
    with transaction.atomic():
        assert router.db_for_read(Beneficiary) == "default"
        assert router.db_for_read(Dose) == "default"


def test_a_row_s_related_rows_are_read_on_the_replica_it_came_from(replicas):
    person = Beneficiary()
    person._state.db = "replica_2"
    assert {router.db_for_read(Dose, instance=person) for _ in range(20)} == {"replica_2"}


@pytest.mark.parametrize("model", [Beneficiary, Dose, Vaccine, Verification])
def test_every_write_goes_to_the_primary(replicas, model):
    assert router.db_for_write(model) == "default"


def test_a_verification_may_point_at_a_beneficiary_read_from_a_replica(replicas):
    person, verification = Beneficiary(), Verification()
    person._state.db, verification._state.db = "replica_1", "default"
    assert router.allow_relation(verification, person)
    person._state.db = "elsewhere"
    assert not router.allow_relation(verification, person)


def test_migrations_run_on_the_primary_only(replicas):
    assert router.allow_migrate("default", "verification")
    assert not router.allow_migrate("replica_1", "verification")


def test_without_replicas_registry_reads_stay_on_the_primary(settings):
    settings.KYVS_DATABASE_REPLICAS = []
    assert router.db_for_read(Beneficiary) == "default"


# Where the verification flow's registry reads land


class RecordingRouter(ReplicaRouter):
    """ReplicaRouter, whose choice for each read is recorded as (model, alias); the read
    itself is then made on the primary, the suite's only database (tests/test_replica.py
    reads a real replica)."""

    def __init__(self):
        self.reads: list[tuple[str, str]] = []

    def db_for_read(self, model, **hints) -> str:
        self.reads.append((model._meta.label_lower, super().db_for_read(model, **hints)))
        return DEFAULT_DB_ALIAS


@pytest.fixture
def recorded(settings) -> RecordingRouter:
    """The router of a deployment with one replica, recording where each read would go."""
    router = RecordingRouter()
    settings.KYVS_DATABASE_REPLICAS = ["replica_1"]
    settings.DATABASE_ROUTERS = [router]
    return router


@pytest.fixture
def in_transaction():
    """The SQL of each query sent while the fixture lasts, with whether it was sent inside
    a transaction (an atomic block)."""
    sent: list[tuple[str, bool]] = []

    def record(execute, sql, params, many, context):
        sent.append((sql, connection.in_atomic_block))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield sent


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["Asha Patel", "Nobody Registered"], ids=["match", "no match"])
def test_a_starts_match_goes_to_a_replica_and_its_restrictions_are_asked_outside_its_transaction(
    recorded, in_transaction, sms_outbox, name
):
    organisation = make_organisation(name="Sahyatri Travels")
    bob = make_member(organisation, "bob")
    asha = make_beneficiary(name="Asha Patel", mobile="9876543210")
    recorded.reads.clear()
    in_transaction.clear()

    verification = start_for(organisation, bob, name)

    assert verification.beneficiary_id == (asha.pk if name == "Asha Patel" else None)
    # The match on the replica; for a match, the SMS job's read of the mobile too, in the
    # job's transaction (run here inside the request), so on the primary.
    beneficiaries = [
        alias for model, alias in recorded.reads if model == "verification.beneficiary"
    ]
    matched = name == "Asha Patel"
    assert beneficiaries == (["replica_1", DEFAULT_DB_ALIAS] if matched else ["replica_1"])
    registry = [
        inside
        for sql, inside in in_transaction
        if sql.startswith("SELECT")
        and (
            'FROM "verification_beneficiary"' in sql or '"verification_citizenrestriction"' in sql
        )
    ]
    # The match and the restrictions, outside any transaction; then the job's mobile.
    assert registry == ([False, False, True] if matched else [False, False])


@pytest.mark.django_db(transaction=True)
def test_a_start_refused_for_its_actor_reads_nothing_of_the_registry(in_transaction):
    organisation = make_organisation(name="Sahyatri Travels")
    make_beneficiary(name="Asha Patel", mobile="9876543210")
    outsider = make_member(make_organisation(), "charlie")
    in_transaction.clear()
    with pytest.raises(services.VerificationRefused):
        start_for(organisation, outsider, "Asha Patel")
    assert not [sql for sql, _inside in in_transaction if '"verification_beneficiary"' in sql]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("answer", ["code", "phone"], ids=["right code", "approved on the phone"])
def test_a_confirms_result_is_read_after_its_transaction_where_a_replica_can_answer(
    recorded, in_transaction, sms_outbox, answer
):
    organisation = make_organisation(scopes=["vaccinations", "demographics"])
    bob = make_member(organisation, "bob")
    asha = make_beneficiary(name="Asha Patel", mobile="9876543210")
    # A transactional test's database has lost the migrations' vaccines.
    Vaccine.objects.get_or_create(name="Covishield", defaults={"primary_doses_required": 2})
    add_dose(asha, "Covishield", 1, date(2021, 5, 1))
    verification = start_for(organisation, bob, "Asha Patel")
    recorded.reads.clear()
    in_transaction.clear()

    if answer == "code":
        outcome = services.confirm_verification(verification, otp_from(sms_outbox[-1]))
    else:
        public_id, token = re.search(r"/c/([\w-]+)/([\w-]+)", sms_outbox[-1].body).groups()
        public_id = CompactUuidConverter().to_python(public_id)
        outcome = services.approve_by_link(public_id, token)

    assert outcome.ok
    assert outcome.result.vaccinations[0]["vaccine"] == "Covishield"
    assert outcome.result.beneficiary["name"] == "Asha Patel"
    doses = [alias for model, alias in recorded.reads if model == "verification.dose"]
    assert doses == ["replica_1"]
    assert ("verification.beneficiary", "replica_1") in recorded.reads
    locked, result = [], []
    for sql, inside in in_transaction:
        if "FOR UPDATE" in sql:
            locked.append(inside)
        elif 'FROM "verification_dose"' in sql:
            result.append(inside)
    # On SQLite the lock is a plain SELECT: the dose read is what this test is about.
    assert locked in ([True], []) and result == [False]


# DATABASE_REPLICA_URLS


def database_settings(**env) -> dict:
    """The databases, replicas and routers that settings.py makes of `env` (and no other
    KYVS_, DJANGO_ or database variable)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KYVS_", "DJANGO_", "DATABASE_")) and k != "REDIS_URL"
    }
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, json; django.setup(); from django.conf import settings as s; "
            "print(json.dumps({'databases': {a: [d['HOST'], d['PORT'], d['NAME'], "
            "d.get('TEST', {}).get('MIRROR')] for a, d in s.DATABASES.items()}, "
            "'connect_timeouts': {a: d.get('OPTIONS', {}).get('connect_timeout') "
            "for a, d in s.DATABASES.items()}, "
            "'replicas': s.KYVS_DATABASE_REPLICAS, 'routers': s.DATABASE_ROUTERS}))",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "kyvs.settings", "DJANGO_DEBUG": "true", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_each_replica_url_becomes_an_alias_mirroring_the_primary_in_tests():
    found = database_settings(
        DATABASE_URL="postgres://postgres@10.0.0.1:5432/kyvs",
        DATABASE_REPLICA_URLS="postgres://postgres@10.0.0.2:5432/kyvs, "
        "postgres://postgres@10.0.0.3:6432/kyvs",
    )
    assert found["databases"] == {
        "default": ["10.0.0.1", 5432, "kyvs", None],
        "replica_1": ["10.0.0.2", 5432, "kyvs", "default"],
        "replica_2": ["10.0.0.3", 6432, "kyvs", "default"],
    }
    assert found["replicas"] == ["replica_1", "replica_2"]
    assert found["routers"] == ["kyvs.db_router.ReplicaRouter"]


def test_without_replica_urls_there_is_one_database_and_no_router():
    found = database_settings(DATABASE_URL="postgres://postgres@10.0.0.1:5432/kyvs")
    assert list(found["databases"]) == ["default"]
    assert found["routers"] == []


def test_a_bad_replica_url_stops_start_up_naming_the_variable():
    run = check_with(DATABASE_REPLICA_URLS="postgres://db/kyvs,mysterydb://elsewhere/kyvs")
    assert run.returncode != 0
    assert "DATABASE_REPLICA_URLS" in run.stderr.splitlines()[-1]


def failing_outside_transactions(monkeypatch, owner, name: str) -> list[bool]:
    """Make `owner.name` raise DatabaseError outside a transaction (as a replica that is down
    would), and run as before inside one; returns, call by call, whether it was inside."""
    from django.db import DatabaseError

    original = getattr(owner, name)
    places: list[bool] = []

    def on_a_failing_replica(self, *args, **kwargs):
        places.append(connection.in_atomic_block)
        if not connection.in_atomic_block:
            raise DatabaseError("the replica does not answer")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(owner, name, on_a_failing_replica)
    return places


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["Asha Patel", "Nobody Registered"], ids=["match", "no match"])
def test_a_start_whose_match_fails_on_a_replica_matches_on_the_primary(
    recorded, sms_outbox, monkeypatch, name
):
    from verification.models import BeneficiaryQuerySet

    organisation = make_organisation(name="Sahyatri Travels")
    bob = make_member(organisation, "bob")
    asha = make_beneficiary(name="Asha Patel", mobile="9876543210")
    places = failing_outside_transactions(monkeypatch, BeneficiaryQuerySet, "matching")

    verification = start_for(organisation, bob, name)

    assert verification.beneficiary_id == (asha.pk if name == "Asha Patel" else None)
    assert places == [False, True]


@pytest.mark.django_db(transaction=True)
def test_a_result_whose_reads_fail_on_a_replica_is_read_on_the_primary(
    recorded, sms_outbox, monkeypatch
):
    from verification.models import DoseQuerySet

    organisation = make_organisation()
    bob = make_member(organisation, "bob")
    make_beneficiary(name="Asha Patel", mobile="9876543210")
    verification = start_for(organisation, bob, "Asha Patel")
    places = failing_outside_transactions(monkeypatch, DoseQuerySet, "with_vaccines_of")

    outcome = services.confirm_verification(verification, otp_from(sms_outbox[-1]))

    assert outcome.ok and outcome.result.receipt
    assert places == [False, True]


@pytest.mark.django_db(transaction=True)
def test_without_replicas_a_failing_registry_read_is_not_tried_again(
    sms_outbox, monkeypatch, settings
):
    from django.db import DatabaseError

    from verification.models import BeneficiaryQuerySet

    settings.KYVS_DATABASE_REPLICAS = []
    organisation = make_organisation()
    bob = make_member(organisation, "bob")
    places = failing_outside_transactions(monkeypatch, BeneficiaryQuerySet, "matching")

    with pytest.raises(DatabaseError):
        start_for(organisation, bob, "Asha Patel")
    assert places == [False]


def test_a_replica_that_is_down_is_given_up_within_two_seconds_unless_its_url_says():
    found = database_settings(
        DATABASE_URL="postgres://postgres@10.0.0.1:5432/kyvs",
        DATABASE_REPLICA_URLS="postgres://postgres@10.0.0.2:5432/kyvs, "
        "postgres://postgres@10.0.0.3:5432/kyvs?connect_timeout=5",
    )
    assert found["connect_timeouts"] == {"default": None, "replica_1": 2, "replica_2": 5}
