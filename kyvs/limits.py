"""The project's one rate-limit mechanism: named limits, counted in the shared cache.

Every limit KYVS enforces is defined here, by name, with the settings it reads and the words
a person is told when it refuses (see LIMITS). Code that enforces one calls `take` (count one
event, refuse over the limit), `count` (only count, e.g. a failed sign-in), `wait` (how long
until the limit lets a request through, without counting) or decorates a view with
`limit_view`. A refusal is the exception `RateLimited`, which names the limit and the seconds
to wait, so whoever answers the request (a page, JSON) reads both from it.

Counters live in the shared cache (Redis in production), never in a process, so every limit
holds across all app servers. A limit allows `count` events per fixed window of `window`
seconds; windows are aligned to the epoch, so a window ends at the same moment on every
server. `cache.add` then `cache.incr` is atomic on Redis (INCR) and on the local-memory cache
(a lock): of many concurrent requests each gets its own count, so no more than `count` of
them are ever inside the limit. `refund` gives events back, so that a request refused by a
later check, or an SMS the gateway did not take, uses up nobody's allowance.

When the cache cannot be reached, the functions raise CacheUnavailable: callers refuse
rather than let traffic through uncounted.
"""

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

import redis.exceptions
from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_redis.exceptions import ConnectionInterrupted

log = logging.getLogger(__name__)

CACHE_ERRORS = (ConnectionInterrupted, redis.exceptions.RedisError, OSError)
# Seconds a client is asked to wait (Retry-After) when the cache that counts is down.
UNAVAILABLE_RETRY_AFTER = 30


@dataclass(frozen=True)
class Limit:
    """At most `count` events per `window` seconds for one identity (a mobile's keyed hash,
    an account, a client address). Each of `count` and `window` is a number, or the name of
    the setting that holds it (read at use, so tests and deployments can change it)."""

    name: str
    count_setting: int | str
    window_setting: int | str
    message: Promise

    @property
    def count(self) -> int:
        return _setting(self.count_setting)

    @property
    def window(self) -> int:
        return _setting(self.window_setting)


def _setting(value: int | str) -> int:
    return getattr(settings, value) if isinstance(value, str) else value


# The abuse limits of DESIGN.md ("OTP and abuse policy"), and the sign-in limits.
OTPS_PER_MOBILE_PER_HOUR = Limit(
    "otp-mobile-hour",
    "KYVS_OTPS_PER_MOBILE_PER_HOUR",
    3600,
    _("Too many codes have been sent to this mobile number."),
)
OTPS_PER_MOBILE_PER_DAY = Limit(
    "otp-mobile-day",
    "KYVS_OTPS_PER_MOBILE_PER_DAY",
    86400,
    _("Too many codes have been sent to this mobile number."),
)
STARTS_PER_ACTOR = Limit(
    "starts",
    "KYVS_STARTS_PER_ACTOR",
    "KYVS_STARTS_WINDOW_SECONDS",
    _("Too many verifications have been started from this account in a short time."),
)
LOGIN_FAILURES_PER_ACCOUNT = Limit(
    "login-account",
    "KYVS_LOGIN_FAILURES_PER_ACCOUNT",
    "KYVS_LOGIN_WINDOW_SECONDS",
    _("Too many failed sign-in attempts."),
)
LOGIN_FAILURES_PER_IP = Limit(
    "login-ip",
    "KYVS_LOGIN_FAILURES_PER_IP",
    "KYVS_LOGIN_WINDOW_SECONDS",
    _("Too many failed sign-in attempts."),
)
# Applying is public. Only applications accepted count against an address's few an hour,
# so a person who needs several tries to fill the form in is never refused for them; every
# sending of the form counts against a generous flood limit instead.
APPLICATIONS_PER_IP = Limit(
    "apply", 5, 3600, _("Too many applications have been sent from this address.")
)
APPLICATION_ATTEMPTS_PER_IP = Limit(
    "apply-attempts",
    60,
    3600,
    _("The application form has been sent too often from this address."),
)
SECOND_FACTOR_TRIES_PER_USER = Limit(
    "two-factor", 10, 900, _("Too many wrong codes have been typed for this account.")
)

LIMITS = {
    limit.name: limit
    for limit in (
        OTPS_PER_MOBILE_PER_HOUR,
        OTPS_PER_MOBILE_PER_DAY,
        STARTS_PER_ACTOR,
        LOGIN_FAILURES_PER_ACCOUNT,
        LOGIN_FAILURES_PER_IP,
        APPLICATIONS_PER_IP,
        APPLICATION_ATTEMPTS_PER_IP,
        SECOND_FACTOR_TRIES_PER_USER,
    )
}


class CacheUnavailable(Exception):
    """The shared cache did not answer, so no limit can be checked."""

    retry_after = UNAVAILABLE_RETRY_AFTER


class RateLimited(Exception):
    """`limit` refuses: the same request may succeed after `retry_after` seconds."""

    def __init__(self, limit: Limit, retry_after: int):
        super().__init__(limit.name)
        self.limit = limit
        self.retry_after = retry_after

    @property
    def minutes(self) -> int:
        return max(math.ceil(self.retry_after / 60), 1)

    @property
    def message(self) -> str:
        """The limit's words and the wait, for a person: "Too many ... Please try again in
        3 minutes." """
        wait = ngettext(
            "Please try again in %(minutes)d minute.",
            "Please try again in %(minutes)d minutes.",
            self.minutes,
        ) % {"minutes": self.minutes}
        return f"{self.limit.message} {wait}"


@dataclass(frozen=True)
class Usage:
    """One counted event: the counter's key, its count after counting, the limit's count,
    and the seconds until the counter's window ends."""

    key: str
    count: int
    limit: int
    retry_after: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit


def keyed_hash(value: str) -> str:
    """A stable, keyed stand-in for `value` in cache keys: a mobile number must not appear
    in the cache in plain text, and an unkeyed hash of a 10-digit number is reversible by
    trying all of them. 32 hex characters."""
    return salted_hmac("kyvs.limits", value, algorithm="sha256").hexdigest()[:32]


def _window(limit: Limit, now: float) -> tuple[int, int]:
    """(window index, seconds until it ends) for `now`."""
    window = limit.window
    index = int(now // window)
    return index, max(math.ceil((index + 1) * window - now), 1)


def _key(limit: Limit, ident: str, index: int) -> str:
    # The identity is hashed: it may be anything typed (a user name), and the cache must
    # hold neither it nor characters a cache key cannot carry.
    return f"limit:{limit.name}:{limit.window}:{keyed_hash(ident)}:{index}"


def count(limit: Limit, ident: str) -> Usage:
    """Count one event for `ident` under `limit`, refusing nothing. CacheUnavailable if the
    cache does not answer."""
    index, retry_after = _window(limit, time.time())
    key = _key(limit, ident, index)
    timeout = limit.window + 60
    try:
        cache.add(key, 0, timeout=timeout)
        try:
            value = cache.incr(key)
        except ValueError:
            # The key expired between add and incr; start the window's count again.
            cache.add(key, 0, timeout=timeout)
            value = cache.incr(key)
    except CACHE_ERRORS as exc:
        raise CacheUnavailable(str(exc)) from exc
    return Usage(key=key, count=value, limit=limit.count, retry_after=retry_after)


def take(limit: Limit, ident: str) -> Usage:
    """Count one event for `ident`; over the limit, give it back and raise RateLimited.
    CacheUnavailable if the cache does not answer."""
    usage = count(limit, ident)
    if usage.exceeded:
        refund([usage])
        log.warning("rate limit %s reached (%d per %ds)", limit.name, limit.count, limit.window)
        raise RateLimited(limit, usage.retry_after)
    return usage


def wait(limit: Limit, ident: str) -> int:
    """Seconds until `limit` lets one more event for `ident` through; 0 if it would now.
    Counts nothing. CacheUnavailable if the cache does not answer."""
    index, retry_after = _window(limit, time.time())
    try:
        used = cache.get(_key(limit, ident, index)) or 0
    except CACHE_ERRORS as exc:
        raise CacheUnavailable(str(exc)) from exc
    return retry_after if used >= limit.count else 0


def clear(limit: Limit, ident: str) -> None:
    """Forget the events counted for `ident` in the present window (e.g. a person's wrong
    codes, once they typed a right one). CacheUnavailable if the cache does not answer."""
    index, _retry_after = _window(limit, time.time())
    try:
        cache.delete(_key(limit, ident, index))
    except CACHE_ERRORS as exc:
        raise CacheUnavailable(str(exc)) from exc


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


def limit_view(limit: Limit, key: Callable, methods: tuple[str, ...] = ("POST",)):
    """Decorate a view so that each request with one of `methods` takes one event of `limit`
    for `key(request)`. Over the limit the view is not called: RateLimited (or
    CacheUnavailable) propagates, and kyvs.middleware.LimitsMiddleware answers it."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method in methods:
                take(limit, key(request))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
