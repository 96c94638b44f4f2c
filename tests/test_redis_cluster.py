"""The shared cache on a real Redis Cluster (kyvs/redis_cluster.py).

Most of these run only when the suite itself runs on a cluster, as .ci/run's second
pass does:

    ./scripts/redis_cluster start
    REDIS_URL="$(./scripts/redis_cluster url)" KYVS_REDIS_CLUSTER=true \\
        ./scripts/test tests/test_redis_cluster.py tests/verification/test_limits.py

The tests of a cluster that does not answer start a one-node cluster of their own, so
that stopping it disturbs nobody else's keys.
"""

import shutil
import signal
import socket
import subprocess
import threading
import time
from contextlib import contextmanager

import pytest
import redis
import redis.crc
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from kyvs import limits
from kyvs.redis_cluster import KyvsRedisCluster, slot_key
from tests.test_settings import check_with
from verification import services
from verification.models import Verification

on_a_cluster = pytest.mark.skipif(
    not settings.KYVS_REDIS_CLUSTER,
    reason="needs the suite on a Redis Cluster: KYVS_REDIS_CLUSTER=true and REDIS_URL "
    "listing its nodes (./scripts/redis_cluster start)",
)


def cluster_client() -> KyvsRedisCluster:
    return cache.client.get_client()


def node_holding(key: str) -> redis.Redis:
    """A plain (non-cluster) connection to the master that owns `key`'s slot."""
    node = cluster_client().get_node_from_key(key)
    return redis.Redis(host=node.host, port=node.port, socket_timeout=2)


# Slot groups: no cluster needed


def test_keys_made_with_one_slot_group_share_their_hash_tag():
    current = slot_key("limit:otp-mobile:3600:abc", 29933948)
    previous = slot_key("limit:otp-mobile:3600:abc", 29933947)
    assert current == "{limit:otp-mobile:3600:abc}:29933948"
    assert redis.crc.key_slot(current.encode()) == redis.crc.key_slot(previous.encode())
    other = slot_key("limit:otp-mobile:3600:abd", 29933948)
    assert redis.crc.key_slot(other.encode()) != redis.crc.key_slot(current.encode())


@pytest.mark.parametrize("group", ["", "a{b", "a}b"])
def test_a_slot_group_with_braces_or_empty_is_refused(group):
    with pytest.raises(ValueError):
        slot_key(group, 1)


# Settings: no cluster needed


@pytest.mark.parametrize(
    "redis_url",
    [
        "unix:///run/redis.sock",
        "redis://127.0.0.1:7001/1",
        "redis://127.0.0.1:7001,127.0.0.1:7002",
    ],
)
def test_a_cluster_seed_list_that_cannot_work_stops_start_up_naming_the_variable(redis_url):
    run = check_with(KYVS_REDIS_CLUSTER="true", REDIS_URL=redis_url)
    assert run.returncode != 0
    assert "REDIS_URL" in run.stderr.splitlines()[-1]


def test_a_list_of_cluster_nodes_starts():
    run = check_with(KYVS_REDIS_CLUSTER="true", REDIS_URL="redis://10.0.0.1:7001,rediss://x:7002")
    assert run.returncode == 0, run.stderr


# On the cluster


@on_a_cluster
def test_the_cache_talks_to_every_master_and_spreads_keys_over_them():
    client = cluster_client()
    masters = client.get_primaries()
    assert len(masters) >= 3
    for n in range(60):
        cache.set(f"spread-{n}", n, timeout=60)
    holding = [m for m in masters if client.dbsize(target_nodes=m) > 0]
    assert len(holding) == len(masters)
    assert cache.get_many([f"spread-{n}" for n in range(60)]) == {
        f"spread-{n}": n for n in range(60)
    }


@on_a_cluster
def test_clearing_the_cache_empties_every_master():
    client = cluster_client()
    for n in range(60):
        cache.set(f"clear-{n}", n, timeout=60)
    cache.clear()
    assert {client.dbsize(target_nodes=m) for m in client.get_primaries()} == {0}


@on_a_cluster
def test_a_rate_limit_counter_counts_on_the_master_that_owns_its_slot():
    limit = limits.Limit("cluster-test", 2, 600, "Too many.")
    usages = [limits.count(limit, "actor-1") for _ in range(3)]
    assert [u.count for u in usages] == [1, 2, 3]
    assert [u.exceeded for u in usages] == [False, False, True]
    stored_key = cache.make_key(usages[0].key)
    assert int(node_holding(stored_key).get(stored_key)) == 3
    limits.refund(usages[1:])
    assert int(node_holding(stored_key).get(stored_key)) == 1


@on_a_cluster
def test_keys_of_one_slot_group_are_read_in_one_command_and_keys_of_two_slots_are_not():
    client = cluster_client()
    current = cache.make_key(slot_key("limit:window-test:60:abc", 11))
    previous = cache.make_key(slot_key("limit:window-test:60:abc", 10))
    client.set(current, 3)
    client.set(previous, 7)
    assert client.mget(current, previous) == [b"3", b"7"]
    apart = [cache.make_key(f"apart-{n}") for n in range(20)]
    slots = {client.keyslot(key) for key in apart}
    assert len(slots) > 1
    # A mistake, not an outage: it must not be taken for "the cache is down".
    with pytest.raises(redis.exceptions.RedisClusterException) as caught:
        client.mget(*apart)
    assert not isinstance(caught.value, redis.exceptions.ConnectionError)


# A cluster that does not answer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def one_node_cluster(tmp_path):
    """A Redis Cluster of one master holding all 16384 slots, on a free loopback port."""
    port = free_port()
    process = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            # The default bus port, port + 10000, may be past 65535 for a free port.
            "--cluster-port",
            str(free_port()),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            str(tmp_path / "nodes.conf"),
            "--dir",
            str(tmp_path),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        node = redis.Redis(port=port, socket_timeout=2)

        def started() -> bool:
            assert process.poll() is None, "redis-server exited; try it by hand"
            return _answers(node)

        wait_for(started, "the node to start")
        node.execute_command("CLUSTER ADDSLOTSRANGE", 0, 16383)
        wait_for(lambda: node.cluster("info")["cluster_state"] == "ok", "cluster_state:ok")
        yield process, f"redis://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        process.wait(timeout=10)


def _answers(node: redis.Redis) -> bool:
    try:
        return node.ping()
    except redis.exceptions.ConnectionError:
        return False


def wait_for(condition, what: str, limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {limit}s for {what}")
        time.sleep(0.05)  # between polls only; the condition is what is waited for


def cluster_cache(seed_url: str, timeout: float) -> dict:
    return {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": seed_url,
            "OPTIONS": {
                "CLIENT_CLASS": "kyvs.redis_cluster.ClusterClient",
                "SOCKET_CONNECT_TIMEOUT": timeout,
                "SOCKET_TIMEOUT": timeout,
            },
        }
    }


def start(organisation, operator):
    return services.start_verification(
        organisation=organisation,
        operator=operator,
        full_name="Asha Patel",
        mobile="9876543210",
        purpose="travel",
    )


def within(seconds: float, call):
    """Run `call` in a thread; its outcome, or AssertionError if it is still running after
    `seconds` (a hung cache would otherwise hang the suite)."""
    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting for the cache after {seconds}s"
    return outcome


@on_a_cluster
@pytest.mark.django_db
def test_with_the_cluster_hung_a_start_is_refused_within_its_timeouts_and_leaves_no_row(
    tmp_path, organisation, bob, asha, sms_outbox
):
    with one_node_cluster(tmp_path) as (node, seed_url):
        hung = override_settings(CACHES=cluster_cache(seed_url, timeout=0.5))
        hung.enable()
        try:
            assert start(organisation, bob).beneficiary == asha
            node.send_signal(signal.SIGSTOP)  # accepts connections, answers nothing
            outcome = within(10, lambda: start(organisation, bob))
            assert isinstance(outcome.get("error"), services.VerificationRefused)
            assert outcome["error"].code == "unavailable"
            assert Verification.objects.count() == 1
            assert len(sms_outbox) == 1

            node.send_signal(signal.SIGCONT)
            start(organisation, bob)  # the same process finds the cluster again
        finally:
            hung.disable()
    assert Verification.objects.count() == 2
    assert len(sms_outbox) == 2


@on_a_cluster
@pytest.mark.django_db
def test_with_no_cluster_node_answering_the_web_answers_503(
    client, organisation, bob, asha, sms_outbox
):
    client.force_login(bob)
    closed = f"redis://127.0.0.1:{free_port()},redis://127.0.0.1:{free_port()}"
    with override_settings(CACHES=cluster_cache(closed, timeout=0.5)):
        response = client.post(
            "/verify/",
            {"full_name": "Asha Patel", "mobile_number": "9876543210", "purpose": "travel"},
        )
    assert response.status_code == 503
    assert "Please try again shortly" in response.content.decode()
    assert Verification.objects.count() == 0
    assert sms_outbox == []
