"""The shared cache on a Redis Cluster: django-redis, with redis-py's own cluster client.

django-redis has no cluster mode, but its client and connection factory are pluggable
(its maintainers' answer to cluster requests, jazzband/django-redis#208), and redis-py
has shipped a cluster client, `redis.cluster.RedisCluster`, since 4.1. So this module is
only the glue: with KYVS_REDIS_CLUSTER=true, settings.py sets the default cache's
CLIENT_CLASS to `ClusterClient`, and every cache call (kyvs/limits.py's add/incr/decr,
django-ratelimit, the health check, the resend's remembered mobile) goes through a
RedisCluster that finds the nodes from the seed URLs in REDIS_URL and sends each key to
the master that owns its slot.

Keys that must live together. Redis Cluster places a key by the CRC16 of its *hash tag*,
the text between the first "{" and the next "}", or of the whole key when there is none
(https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags).
A command or Lua script that touches several keys works only when they share a slot.

- Today each rate-limit counter is one key (`limit:<name>:<window>:<ident>:<index>`) and
  every cache call touches one key, so no key must live with another.
- Sliding-window counters read the current and the previous window together: build both
  keys with `slot_key(group, part)` and the same group, e.g.
  `slot_key(f"limit:{name}:{window}:{ident}", index)` and the same with `index - 1`;
  they then land on one slot, so one MGET or one script can read both.

Cache down: a cluster that cannot be reached raises a redis-py ConnectionError or
TimeoutError, which django-redis turns into ConnectionInterrupted, as with one Redis,
so kyvs.limits.CacheUnavailable and the 503 pages work unchanged. The timeouts are
settings.py's SOCKET_CONNECT_TIMEOUT and SOCKET_TIMEOUT, and a failed command is tried
once more (after redis-py has re-read the cluster's slots), not three times with
back-off as redis-py's default would: a request must fail fast, not hang.
"""

import threading
from typing import Any

import redis.exceptions
from django_redis.client.default import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from django_redis.pool import ConnectionFactory
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import parse_url
from redis.retry import Retry

# Commands retried after a connection error, timeout or CLUSTER DOWN (see above).
RETRIES = 1


def slot_key(group: str, *parts: object) -> str:
    """A cache key in the hash slot of `group`: "{group}:part:part".

    Keys made with the same `group` land on one cluster slot whatever their parts, so a
    multi-key command or a Lua script may use them together. `group` is text without
    braces (a brace would end the tag early and split the group); raises ValueError then.
    """
    if not group or "{" in group or "}" in group:
        raise ValueError(f"a slot group is non-empty text without braces, not {group!r}")
    return ":".join([f"{{{group}}}", *(str(part) for part in parts)])


class KyvsRedisCluster(RedisCluster):
    """redis-py's RedisCluster, except that "the cluster cannot be reached" is raised as
    redis.exceptions.ConnectionError.

    When no seed node answers, redis-py raises RedisClusterException (not a RedisError)
    from, or while handling, a ConnectionError or TimeoutError; when no node serves a key's
    slot, SlotNotCoveredError. django-redis turns only RedisError subclasses into
    ConnectionInterrupted, which is what the callers handle. Other RedisClusterExceptions
    (keys of two slots in one command, a bad argument) are mistakes, and stay as they are.
    """

    def __init__(self, *, startup_nodes: list[ClusterNode], **kwargs: Any) -> None:
        try:
            super().__init__(startup_nodes=startup_nodes, **kwargs)
        except redis.exceptions.RedisClusterException as exc:
            if _unreachable(exc):
                raise redis.exceptions.ConnectionError(str(exc)) from exc
            raise
        # RedisCluster has added the `url` node to the list.
        self._seeds = [(node.host, node.port) for node in startup_nodes]

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().execute_command(*args, **kwargs)
        except redis.exceptions.RedisClusterException as exc:
            if not _unreachable(exc):
                raise
            # redis-py drops each node that failed from the nodes it rediscovers the
            # cluster from; with all of them gone it could never find the cluster again.
            self.nodes_manager.populate_startup_nodes(
                [ClusterNode(host, port) for host, port in self._seeds]
            )
            raise redis.exceptions.ConnectionError(str(exc)) from exc


def _unreachable(exc: Exception) -> bool:
    """Whether `exc` says that the cluster, or the node of a slot, cannot be reached."""
    lost = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
    return isinstance(exc, redis.exceptions.SlotNotCoveredError) or isinstance(
        exc.__cause__ or exc.__context__, lost
    )


class ClusterConnectionFactory(ConnectionFactory):
    """Makes one KyvsRedisCluster per process for a seed list, shared by every thread.

    `url` is the seed list as REDIS_URL gives it: comma-separated redis:// or rediss://
    URLs of cluster nodes (any of them; the rest are found from the first that answers).
    A RedisCluster keeps a connection pool per node itself, so django-redis's pool of
    pools is not used.
    """

    _clusters: dict[str, RedisCluster] = {}
    _lock = threading.Lock()

    def connect(self, url: str) -> RedisCluster:
        with self._lock:
            cluster = self._clusters.get(url)
            if cluster is None:
                cluster = self._clusters[url] = self._make_cluster(url)
            return cluster

    def _make_cluster(self, url: str) -> RedisCluster:
        first, *others = [seed.strip() for seed in url.split(",") if seed.strip()]
        params = self.make_connection_params(first)
        params.pop("parser_class", None)
        options = {
            key: value
            for key, value in params.items()
            if key in {"url", "username", "password", "socket_timeout", "socket_connect_timeout"}
        }
        startup_nodes = [ClusterNode(*_host_port(seed)) for seed in others]
        return KyvsRedisCluster(
            startup_nodes=startup_nodes,
            retry=Retry(NoBackoff(), RETRIES),
            **options,
            **self.redis_client_cls_kwargs,
        )

    def disconnect(self, connection: RedisCluster) -> None:
        connection.close()


def _host_port(url: str) -> tuple[str, int]:
    parsed = parse_url(url)
    return parsed.get("host", "127.0.0.1"), int(parsed.get("port", 6379))


class ClusterClient(DefaultClient):
    """django-redis's DefaultClient on a Redis Cluster.

    LOCATION (REDIS_URL) lists seed nodes of one cluster, not a master and its replicas
    as DefaultClient reads a list, so all of them go to one RedisCluster. get_many reads
    key by slot (MGET on one node only takes keys of one slot).
    """

    def __init__(self, server, params: dict[str, Any], backend) -> None:
        super().__init__(server, params, backend)
        self._server = [",".join(self._server)]
        self._clients = [None]
        self.connection_factory = ClusterConnectionFactory(self._options)

    def get_many(self, keys, version=None, client=None) -> dict:
        if client is None:
            client = self.get_client(write=False)
        if not keys:
            return {}
        made = {self.make_key(key, version=version): key for key in keys}
        try:
            values = client.mget_nonatomic(list(made))
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise ConnectionInterrupted(connection=client) from exc
        return {
            made[key]: self.decode(value)
            for key, value in zip(made, values, strict=True)
            if value is not None
        }
