"""Counters for rate limits, kept in the shared cache so that every app server sees them.

A limit allows `limit` events per fixed window of `window` seconds (windows are aligned to
the epoch, so a window's end is the same on every server). `consume` counts one event and
says whether it is still within the limit; `refund` gives events back, so that a request
refused by a later check, or an SMS the gateway did not take, does not use up anyone's
allowance.

`cache.add` followed by `cache.incr` is atomic on Redis (INCR) and on the local-memory
cache (a lock): of many concurrent requests, each gets its own count, so no more than
`limit` of them are ever inside the limit.

When the cache cannot be reached, `consume` raises CacheUnavailable: the callers refuse
rather than let traffic through uncounted.
"""

import logging
import math
import time
from dataclasses import dataclass

import redis.exceptions
from django.core.cache import cache
from django.utils.crypto import salted_hmac
from django_redis.exceptions import ConnectionInterrupted

log = logging.getLogger(__name__)

CACHE_ERRORS = (ConnectionInterrupted, redis.exceptions.RedisError, OSError)


class CacheUnavailable(Exception):
    """The shared cache did not answer, so no limit can be checked."""


@dataclass(frozen=True)
class Usage:
    key: str
    count: int
    limit: int
    retry_after: int  # seconds until the window ends

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit


def keyed_hash(value: str) -> str:
    """A stable, keyed stand-in for `value` in cache keys: a mobile number must not appear
    in the cache in plain text, and an unkeyed hash of a 10-digit number is reversible by
    trying all of them."""
    return salted_hmac("kyvs.limits", value, algorithm="sha256").hexdigest()[:32]


def consume(name: str, ident: str, limit: int, window: int) -> Usage:
    """Count one event for `ident` under the limit called `name`."""
    now = time.time()
    index = int(now // window)
    key = f"limit:{name}:{window}:{ident}:{index}"
    try:
        cache.add(key, 0, timeout=window + 60)
        try:
            count = cache.incr(key)
        except ValueError:
            # The key expired between add and incr; start the window's count again.
            cache.add(key, 0, timeout=window + 60)
            count = cache.incr(key)
    except CACHE_ERRORS as exc:
        raise CacheUnavailable(str(exc)) from exc
    retry_after = max(math.ceil((index + 1) * window - now), 1)
    return Usage(key=key, count=count, limit=limit, retry_after=retry_after)


def refund(usages: list[Usage]) -> None:
    """Give back one event for each usage. Best effort: a window that has ended already
    needs nothing back, and a cache that has gone away has nothing to give back to."""
    for usage in usages:
        try:
            cache.decr(usage.key)
        except ValueError:
            pass
        except CACHE_ERRORS:
            log.warning("could not refund rate limit counter %s", usage.key.split(":")[1])
