"""A confirmed result, held for the screen or client that may show it.

Results are never stored in the database: the verification row is an audit record that
never holds the answer. Between the confirmation and the showing, the result waits in a
store that belongs to whoever may show it (the operator's session on the web; the shared
cache, behind a signed token, for the API) for at most `lifetime` seconds, then is gone.

One implementation for every channel: `ResultHandOff(store, lifetime)` over either store.
"""

from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from kyvs.outages import CACHE_ERRORS
from verification.refusals import Refusal, VerificationRefused
from verification.services import Result

_KEY = "kyvs.result.{}"


class SessionStore:
    """A session (django.contrib.sessions): the result goes wherever the session goes, and
    no other browser can pick it up."""

    def __init__(self, session):
        self.session = session

    def put(self, key: str, value: dict, timeout: int) -> None:
        self.session[key] = value

    def get(self, key: str) -> dict | None:
        return self.session.get(key)

    def delete(self, key: str) -> None:
        self.session.pop(key, None)


class CacheStore:
    """The shared cache: any app server can pick the result up; the cache's own expiry
    deletes it with the lifetime. A cache that does not answer is UNAVAILABLE.

    `namespace` keeps apart two hand-offs of the same verification's result that end at
    different times: the shared screen collects a phone-approved result once, while an
    embed session's back end may fetch the same result again for minutes."""

    def __init__(self, namespace: str = ""):
        self.prefix = f"{namespace}." if namespace else ""

    def put(self, key: str, value: dict, timeout: int) -> None:
        try:
            cache.set(self.prefix + key, value, timeout)
        except CACHE_ERRORS:
            raise VerificationRefused(Refusal.UNAVAILABLE) from None

    def get(self, key: str) -> dict | None:
        try:
            return cache.get(self.prefix + key)
        except CACHE_ERRORS:
            raise VerificationRefused(Refusal.UNAVAILABLE) from None

    def delete(self, key: str) -> None:
        try:
            cache.delete(self.prefix + key)
        except CACHE_ERRORS:
            raise VerificationRefused(Refusal.UNAVAILABLE) from None


class ResultHandOff:
    """Holds results in `store` for `lifetime` seconds, keyed by verification id."""

    def __init__(self, store: SessionStore | CacheStore, lifetime: int):
        self.store = store
        self.lifetime = lifetime

    def hold(self, result: Result) -> None:
        self.store.put(
            _KEY.format(result.verification_id),
            {"stored_at": timezone.now().isoformat(), "result": result.as_dict()},
            self.lifetime,
        )

    def collect(self, verification_id: str, *, once: bool) -> Result | None:
        """The result held for `verification_id` if it is younger than the lifetime, else
        None. `once`: it leaves the store as it is collected, so it can be shown only once
        (the web); otherwise it may be collected again while it lives (an API client that
        retries)."""
        key = _KEY.format(verification_id)
        held = self.store.get(key)
        if once and held is not None:
            self.store.delete(key)
        if not isinstance(held, dict):
            return None
        age = timezone.now() - datetime.fromisoformat(held["stored_at"])
        if age.total_seconds() > self.lifetime:
            return None
        return Result(**held["result"])


def phone_approved_results() -> ResultHandOff:
    """A result the citizen approved on their own phone (verification/approve.py) waits in
    the shared cache, where the shared screen that started it picks it up, once, within
    KYVS_RESULT_PICKUP_SECONDS."""
    from django.conf import settings

    return ResultHandOff(CacheStore("phone"), settings.KYVS_RESULT_PICKUP_SECONDS)
