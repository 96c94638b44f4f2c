"""The project's one rate-limit mechanism: named limits, counted in the shared cache.

Every limit KYVS enforces is defined here, by name, with the settings it reads and the words
a person is told when it refuses (see LIMITS). Code that enforces one calls `take` (count one
event, refuse over the limit), `count` (only count, e.g. a failed sign-in), `wait` (how long
until the limit lets a request through, without counting), `peek` (what is left, for the API's
RateLimit headers) or decorates a view with `limit_view`. A refusal is the exception
`RateLimited`, which names the limit and the seconds to wait, so whoever answers the request
(a page, JSON) reads both from it.

Counters live in the shared cache (Redis in production), never in a process, so every limit
holds across all app servers. Windows are aligned to the epoch, so a window ends at the same
moment on every server. A limit counts one of two ways:

- sliding (the OTP and start limits): the sliding-window counter of Cloudflare's and
  Figma's rate limiters: the events of the present window plus those of the previous window
  weighted by how much of it still lies within the last `window` seconds. A burst at the end
  of one window and another at the start of the next cannot pass twice the limit, as they
  could with fixed windows.
- fixed (the sign-in, second-factor and application limits): at most `count` events per
  window; a refused person is let in again when the window ends, never later.

`cache.add` then `cache.incr` is atomic on Redis (INCR) and on the local-memory cache (a lock):
of many concurrent requests each gets its own count, so no more of them than the limit allows
are ever let through. `refund` gives events back (the counter of the window they were counted
in), so that a request refused by a later check, or an SMS the gateway did not take, uses up
nobody's allowance.

When the cache cannot be reached, the functions raise CacheUnavailable: callers refuse
rather than let traffic through uncounted.
"""

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kyvs.outages import CACHE_ERRORS, RETRY_AFTER

log = logging.getLogger(__name__)

# Seconds a client is asked to wait (Retry-After) when the cache that counts is down.
UNAVAILABLE_RETRY_AFTER = RETRY_AFTER


@dataclass(frozen=True)
class Limit:
    """At most `count` events per `window` seconds for one identity (a mobile's keyed hash,
    an account, a client address), counted in a sliding or a fixed window (see above). Each of
    `count` and `window` is a number, or the name of the setting that holds it (read at use,
    so tests and deployments can change it)."""

    name: str
    count_setting: int | str
    window_setting: int | str
    message: Promise
    sliding: bool = False

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
    sliding=True,
)
OTPS_PER_MOBILE_PER_DAY = Limit(
    "otp-mobile-day",
    "KYVS_OTPS_PER_MOBILE_PER_DAY",
    86400,
    _("Too many codes have been sent to this mobile number."),
    sliding=True,
)
STARTS_PER_ACTOR = Limit(
    "starts",
    "KYVS_STARTS_PER_ACTOR",
    "KYVS_STARTS_WINDOW_SECONDS",
    _("Too many verifications have been started from this account in a short time."),
    sliding=True,
)
OWN_CHECKS_PER_ADDRESS = Limit(
    "own-checks",
    "KYVS_OWN_CHECKS_PER_ADDRESS",
    3600,
    _("Too many checks have been started from this address."),
    sliding=True,
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
        OWN_CHECKS_PER_ADDRESS,
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
    """One counted event: the key of the counter it went into, the limit's count of events
    (for a sliding limit, the weighted estimate) after counting it, the limit's count, and
    the seconds until one more event would be allowed (0 when it would be now)."""

    key: str
    count: float
    limit: int
    retry_after: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit


@dataclass(frozen=True)
class Standing:
    """Where a limit stands for one identity, without counting: for the API's RateLimit
    headers (IETF draft-ietf-httpapi-ratelimit-headers): the limit, what is left, and the
    seconds until everything counted now has left the window."""

    limit: int
    remaining: int
    reset: int


def actor_ident(*, api_key_pk: int | None = None, user_pk: int | None = None) -> str:
    """Who STARTS_PER_ACTOR counts: an API key, or else a signed-in person."""
    return f"key:{api_key_pk}" if api_key_pk is not None else f"user:{user_pk}"


def keyed_hash(value: str) -> str:
    """A stable, keyed stand-in for `value` in cache keys: a mobile number must not appear
    in the cache in plain text, and an unkeyed hash of a 10-digit number is reversible by
    trying all of them. 32 hex characters."""
    return salted_hmac("kyvs.limits", value, algorithm="sha256").hexdigest()[:32]


def _key(limit: Limit, ident: str, index: int) -> str:
    # The identity is hashed: it may be anything typed (a user name), and the cache must
    # hold neither it nor characters a cache key cannot carry.
    return f"limit:{limit.name}:{limit.window}:{keyed_hash(ident)}:{index}"


@dataclass(frozen=True)
class _Window:
    """The counters of one limit and identity at one moment."""

    limit: Limit
    index: int  # the present window's number since the epoch
    elapsed: float  # how far into it we are, 0 to 1
    current: int  # events counted in it
    previous: int  # events counted in the one before (0 for a fixed limit)

    @property
    def estimate(self) -> float:
        return self.previous * (1 - self.elapsed) + self.current

    @property
    def ends_in(self) -> float:
        return (1 - self.elapsed) * self.limit.window

    def wait_for_one(self) -> int:
        """Seconds until one more event fits under the limit; 0 if it does now."""
        limit, window = self.limit.count, self.limit.window
        if self.estimate + 1 <= limit:
            return 0
        if not self.limit.sliding or self.current + 1 > limit:
            if not self.limit.sliding:
                return max(math.ceil(self.ends_in), 1)
            # Into the next window, where this window's events weigh as the previous ones.
            needed = 1 - (limit - 1) / self.current
            return max(math.ceil(self.ends_in + needed * window), 1)
        # Later in this window, when enough of the previous window's weight has gone.
        needed = 1 - (limit - self.current - 1) / self.previous
        return max(math.ceil((needed - self.elapsed) * window), 1)

    def reset(self) -> int:
        """Seconds until every event counted so far has left the window."""
        if self.current:
            return math.ceil(self.ends_in + (self.limit.window if self.limit.sliding else 0))
        if self.previous:
            return math.ceil(self.ends_in)
        return 0


def _read(limit: Limit, ident: str, now: float, current: int | None = None) -> _Window:
    window = limit.window
    index = int(now // window)
    try:
        if current is None:
            current = cache.get(_key(limit, ident, index)) or 0
        previous = (cache.get(_key(limit, ident, index - 1)) or 0) if limit.sliding else 0
    except CACHE_ERRORS as exc:
        raise CacheUnavailable(str(exc)) from exc
    return _Window(limit, index, (now - index * window) / window, current, previous)


def count(limit: Limit, ident: str) -> Usage:
    """Count one event for `ident` under `limit`, refusing nothing. CacheUnavailable if the
    cache does not answer."""
    now = time.time()
    index = int(now // limit.window)
    key = _key(limit, ident, index)
    # A sliding limit reads a window's count through the whole of the next window too.
    timeout = limit.window * (2 if limit.sliding else 1) + 60
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
    state = _read(limit, ident, now, current=value)
    before = _Window(limit, state.index, state.elapsed, value - 1, state.previous)
    return Usage(
        key=key,
        count=state.estimate,
        limit=limit.count,
        retry_after=before.wait_for_one(),
    )


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
    return _read(limit, ident, time.time()).wait_for_one()


def peek(limit: Limit, ident: str) -> Standing:
    """Where `limit` stands for `ident`, counting nothing. CacheUnavailable if the cache does
    not answer."""
    state = _read(limit, ident, time.time())
    remaining = max(math.floor(limit.count - state.estimate), 0)
    return Standing(limit=limit.count, remaining=remaining, reset=state.reset())


def clear(limit: Limit, ident: str) -> None:
    """Forget the events counted for `ident` (e.g. a person's wrong codes, once they typed a
    right one). CacheUnavailable if the cache does not answer."""
    index = int(time.time() // limit.window)
    try:
        cache.delete_many([_key(limit, ident, index), _key(limit, ident, index - 1)])
    except CACHE_ERRORS as exc:
        raise CacheUnavailable(str(exc)) from exc


def refund(usages: list[Usage]) -> None:
    """Give back one event for each usage."""
    refund_keys([usage.key for usage in usages])


def refund_keys(keys: list[str]) -> None:
    """Give back one event to each counter of `keys` (Usage.key). Best effort: a window that
    has ended long ago needs nothing back, and a cache that has gone away has nothing to
    give back to."""
    for key in keys:
        try:
            cache.decr(key)
        except ValueError:
            pass
        except CACHE_ERRORS:
            log.warning("could not refund rate limit counter %s", key.split(":")[1])


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
