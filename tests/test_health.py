"""/healthz: the database and the cache, answered without sign-in, session or caching."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from verification import services

pytestmark = pytest.mark.django_db


def test_it_answers_ok_when_the_database_and_the_cache_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "cache": "ok",
        "queue": "ok",
        "queue_waiting": 0,
        "queue_oldest_wait_seconds": 0,
    }


def test_it_is_never_cached_and_sets_no_cookie(client):
    response = client.get("/healthz")
    assert "no-store" in response.headers["Cache-Control"]
    assert not response.cookies


def test_it_needs_no_sign_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_it_answers_503_naming_the_cache_when_the_cache_is_down(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert (response.json()["database"], response.json()["cache"]) == ("ok", "failed")


def test_it_answers_503_naming_the_database_when_the_database_fails(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise connection.Database.OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert (response.json()["database"], response.json()["cache"]) == ("failed", "ok")


def test_it_is_not_redirected_to_https(client, settings):
    # A load balancer probes over plain HTTP.
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


def test_it_refuses_posts(client):
    assert client.post("/healthz").status_code == 405


def test_it_reports_the_queue_backlog_and_answers_503_when_jobs_wait_too_long(
    client, settings, asha, bob
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.KYVS_QUEUE_MAX_WAIT_SECONDS = 60
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.start_verification(
            organisation=bob.membership.organisation,
            operator=bob,
            full_name="Asha Patel",
            mobile="9876543210",
            purpose="travel",
        )
    with time_machine.travel(start + timedelta(seconds=60), tick=False):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["queue_waiting"] == 1
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["queue"] == "late"
    assert response.json()["queue_oldest_wait_seconds"] == 61
