"""The replica rule of kyvs/db_router.py, decided without a replica (tests/test_replica.py
checks it against a real one), and how DATABASE_REPLICA_URLS becomes settings."""

import json
import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import transaction

from kyvs.db_router import ReplicaRouter
from providers.models import ApiKey, Organisation
from tests.test_settings import ROOT, check_with
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
