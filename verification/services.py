"""The verification workflow: start, confirm, resend, cancel.

The hosted webpage, the embedded page and the API all call these functions; none of them
has a verification flow of its own. A verification's state changes only through the
methods of `Verification` (verification/models.py), called here with the row locked.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kyvs import limits
from kyvs.mobile import is_normalised, mask_mobile
from kyvs.outages import CACHE_ERRORS
from providers.models import Organisation, Scope
from verification import receipts
from verification.delivery import queue_code, queue_receipt, runs_in_request
from verification.models import (
    Beneficiary,
    CitizenRestriction,
    Dose,
    VaccinationStatus,
    Verification,
    status_of,
)
from verification.refusals import Refusal, VerificationRefused

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = [
    "Confirmation",
    "api_quota",
    "own_record",
    "Result",
    "VerificationRefused",
    "approve_by_link",
    "cancel_verification",
    "decline_by_link",
    "decline_verification",
    "check_may_start",
    "confirm_verification",
    "resend_otp",
    "start_own_check",
    "start_verification",
]


class _Allowance:
    """The rate limits one request draws on (kyvs/limits.py), taken one by one and given
    back together when the request is refused or fails, so that a refused request uses up
    nobody's allowance.

    OTPs per mobile are counted for every start and resend, matched or not: counting only
    real sends would let anyone learn whether a number is registered by watching when the
    limit starts to bite. Cache keys carry a keyed hash of the mobile, never the number.
    """

    def __init__(self, organisation_pk: int, operator_pk, api_key_pk, masked_mobile: str):
        self.taken: list[limits.Usage] = []
        self.mobile: list[limits.Usage] = []
        if api_key_pk is None and operator_pk is None:
            self.actor = ""
        else:
            self.actor = limits.actor_ident(api_key_pk=api_key_pk, user_pk=operator_pk)
        self.audit = (
            f"organisation #{organisation_pk}, {self.actor or 'no actor'}, {masked_mobile}"
        )

    def _take(self, limit: limits.Limit, ident: str) -> limits.Usage:
        try:
            usage = limits.take(limit, ident)
        except limits.CacheUnavailable:
            log.error("code not sent: the rate limit cache is unavailable (%s)", self.audit)
            raise VerificationRefused(Refusal.UNAVAILABLE) from None
        except limits.RateLimited as refusal:
            log.warning(
                "code not sent: %s limit of %d per %ds reached (%s)",
                limit.name,
                limit.count,
                limit.window,
                self.audit,
            )
            raise VerificationRefused(
                Refusal.RATE_LIMITED, refusal.message, retry_after=refusal.retry_after
            ) from None
        self.taken.append(usage)
        return usage

    def take_start(self) -> None:
        if self.actor:
            self._take(limits.STARTS_PER_ACTOR, self.actor)

    def take_own_check(self, client_address: str) -> None:
        self._take(limits.OWN_CHECKS_PER_ADDRESS, client_address)

    def take_mobile(self, mobile_ident: str) -> None:
        for limit in (limits.OTPS_PER_MOBILE_PER_HOUR, limits.OTPS_PER_MOBILE_PER_DAY):
            self.mobile.append(self._take(limit, mobile_ident))

    def mobile_keys(self) -> list[str]:
        """The per-mobile counters taken: given back if the SMS cannot be sent."""
        return [usage.key for usage in self.mobile]

    def give_back(self) -> None:
        limits.refund(self.taken)
        self.taken = []


# A resend counts against the same mobile as its start, matched or not; the keyed hash of
# that mobile waits in the cache (the row keeps only the masked number).
_MOBILE_OF = "verification-mobile:{}"
_MOBILE_OF_TIMEOUT = 86400


def _remember_mobile(verification: Verification, mobile_ident: str) -> None:
    try:
        cache.set(_MOBILE_OF.format(verification.public_id), mobile_ident, _MOBILE_OF_TIMEOUT)
    except CACHE_ERRORS:
        raise VerificationRefused(Refusal.UNAVAILABLE) from None


def _mobile_of(verification: Verification) -> str:
    try:
        ident = cache.get(_MOBILE_OF.format(verification.public_id))
    except CACHE_ERRORS:
        raise VerificationRefused(Refusal.UNAVAILABLE) from None
    if ident is None:
        raise VerificationRefused(Refusal.NO_RESENDS_LEFT)
    return ident


def api_quota(api_key) -> limits.Standing:
    """Of the limits on starts that an API key's calls meet (its own STARTS_PER_ACTOR and its
    organisation's daily quota), the one closest to biting: least remaining, then the later
    reset. For the API's RateLimit headers. CacheUnavailable if the cache does not answer."""
    starts = limits.peek(limits.STARTS_PER_ACTOR, limits.actor_ident(api_key_pk=api_key.pk))
    organisation = api_key.organisation
    quota = limits.Standing(
        limit=organisation.daily_quota,
        remaining=max(organisation.daily_quota - organisation.started_today(), 0),
        reset=organisation.seconds_until_quota_resets(),
    )
    return min(starts, quota, key=lambda s: (s.remaining, -s.reset))


def _check_may_start(organisation: Organisation, operator, api_key, purpose: str) -> None:
    _check_actor(organisation, operator, api_key, purpose)
    if organisation.started_today() >= organisation.daily_quota:
        raise _quota_exceeded(organisation)


def _quota_exceeded(organisation: Organisation) -> VerificationRefused:
    return VerificationRefused(
        Refusal.QUOTA_EXCEEDED,
        _("Your organisation has used today's %(quota)d verifications.")
        % {"quota": organisation.daily_quota},
        retry_after=organisation.seconds_until_quota_resets(),
    )


def _check_actor(organisation: Organisation, operator, api_key, purpose: str) -> None:
    """The refusals of _check_may_start that need no query: the organisation's approval (as
    `organisation` was read), the actor acting for it, the purpose."""
    if not organisation.is_approved:
        raise VerificationRefused(
            Refusal.ORGANISATION_NOT_APPROVED,
            _("Your organisation is not approved to verify customers at present."),
        )
    if api_key is not None:
        acts_for_it = api_key.organisation_id == organisation.pk and api_key.is_active
    else:
        membership = getattr(operator, "membership", None) if operator is not None else None
        acts_for_it = membership is not None and membership.organisation_id == organisation.pk
    if not acts_for_it:
        raise VerificationRefused(Refusal.NOT_A_MEMBER)
    if purpose not in organisation.purposes:
        raise VerificationRefused(Refusal.PURPOSE_NOT_ALLOWED)


def check_may_start(organisation: Organisation, *, operator=None, api_key=None, purpose: str):
    """Raise VerificationRefused if `start_verification` by this actor for `purpose` would be
    refused before anything about the customer is known (not approved, not acting for the
    organisation, a purpose it may not state, its daily quota used up). For a channel that
    commits to a purpose before it has the customer's details: an embed session made
    without them (verification/embed_api.py). It reserves nothing: the start checks again."""
    _check_may_start(organisation, operator, api_key, purpose)


def start_verification(
    *,
    organisation: Organisation,
    operator=None,
    api_key=None,
    full_name: str,
    mobile: str,
    purpose: str,
    channel: str = Verification.Channel.WEB,
    ip: str | None = None,
    language: str | None = None,
) -> Verification:
    """Start a verification for `organisation` and send the OTP to the registered mobile.

    `mobile` is the 10-digit form (kyvs.mobile.normalise_mobile; every channel's input,
    verification/inputs.py, cleans it so); ValueError otherwise. The actor is an operator (a
    user) or an API key of the organisation. The caller learns nothing about whether anyone
    matched: with no match, or with two people of the same name on the number, the row is
    created just the same, no SMS is sent and every code will fail.

    Rate limits are taken first and given back if anything refuses, then the row is
    written with the job that makes and sends the code (verification/delivery.py), in one
    transaction: a refused start (VerificationRefused) leaves no row, sends nothing and uses
    up no allowance. The SMS (and later the citizen's screen) is written in `language` (the
    customer's, one of LANGUAGES), else the active language. `ip` is the client's address
    (kyvs.http.client_ip), for the audit.

    A citizen who locked their status, or blocked this organisation (CitizenRestriction),
    is answered exactly as if nobody matched: no SMS, every code fails; the row stays linked
    to them, for their history, marked `blocked`.
    """
    if channel == Verification.Channel.CITIZEN or organisation is None:
        raise ValueError("an organisation's verification; the citizen's is start_own_check")
    language = language or translation.get_language()
    return _start(
        organisation, operator, api_key, full_name, mobile, purpose, channel, ip, language
    )


# What the citizen sees of their own record: the status and their doses.
OWN_CHECK_SCOPES = [Scope.STATUS.value, Scope.VACCINATIONS.value]


def start_own_check(*, full_name: str, mobile: str, ip: str | None) -> Verification:
    """The citizen checking their own status ("My status", channel `citizen`): a
    verification like any other, with no organisation and no purpose: the same uniform
    answer when nothing matches (no SMS), the same per-mobile limits and attempt rules. The
    client's address is limited too (OWN_CHECKS_PER_ADDRESS): the page is public."""
    return _start(
        None,
        None,
        None,
        full_name,
        mobile,
        "",
        Verification.Channel.CITIZEN,
        ip,
        translation.get_language(),
    )


def _start(organisation, operator, api_key, full_name, mobile, purpose, channel, ip, language):
    if not is_normalised(mobile):
        raise ValueError("a verification takes the 10-digit form of the mobile")
    allowance = _Allowance(
        organisation.pk if organisation is not None else None,
        operator.pk if operator is not None else None,
        api_key.pk if api_key is not None else None,
        mask_mobile(mobile),
    )
    try:
        if organisation is None:
            allowance.take_own_check(ip or "unknown")
        else:
            allowance.take_start()
        allowance.take_mobile(limits.keyed_hash(mobile))
        verification = _create(
            organisation,
            operator,
            api_key,
            full_name,
            mobile,
            purpose,
            channel,
            ip,
            allowance,
            language,
        )
    except BaseException:
        allowance.give_back()
        raise
    if runs_in_request():
        # The job has run already, and may have sent or failed to send.
        verification.refresh_from_db()
    return verification


def _create(
    organisation, operator, api_key, full_name, mobile, purpose, channel, ip, allowance, language
):
    now = timezone.now()
    if organisation is not None:
        # Nothing of the registry is read for an actor who may not start at all.
        _check_actor(organisation, operator, api_key, purpose)

    # The registry is read before the transaction: the match and the citizen's restrictions
    # need no lock, so the day's counter row is locked for less, and the router
    # (kyvs/db_router.py) sends the match to a read replica when there is one. A match and a
    # no-match ask the same queries here, in the same order.
    def match() -> tuple[Beneficiary | None, str]:
        matches = list(Beneficiary.objects.matching(full_name, mobile)[:2])
        beneficiary = matches[0] if len(matches) == 1 else None
        if organisation is None:
            return beneficiary, Verification.Blocked.NO
        return beneficiary, _blocked(beneficiary, organisation)

    beneficiary, blocked = _read_registry(match)
    with transaction.atomic():
        if organisation is not None:
            # As it is now (approved, its purposes and quota), for the refusals again.
            organisation = Organisation.objects.get(pk=organisation.pk)
            _check_actor(organisation, operator, api_key, purpose)
            # Counted first, and the count's row locked to the end: one start at a time per
            # organisation; over the quota, the rollback takes the count back.
            if organisation.take_start(now) > organisation.daily_quota:
                raise _quota_exceeded(organisation)
            scopes = api_key.granted_scopes() if api_key else organisation.granted_scopes()
        else:
            scopes = OWN_CHECK_SCOPES
        verification = Verification(
            public_id=uuid.uuid4(),
            organisation=organisation,
            operator=operator,
            api_key=api_key,
            channel=channel,
            purpose=purpose,
            scopes=scopes,
            beneficiary=beneficiary,
            blocked=blocked,
            mobile_masked=mask_mobile(mobile),
            ip=ip,
            created_at=now,
        )
        verification.request_code(now, language)
        verification.save()
        _remember_mobile(verification, limits.keyed_hash(mobile))
        # The same job, at the same point, whether or not anyone matched.
        queue_code(verification, allowance.mobile_keys())
    return verification


def _read_registry(read: Callable[[], T]) -> T:
    """What `read()` returns: registry reads made outside a transaction, which the router
    (kyvs/db_router.py) sends to a read replica where there are replicas. If they fail there
    (a replica down, or cut off: DatabaseError), `read()` runs again inside a transaction,
    where the router reads the primary, so that one replica's outage costs a start or a
    result nothing. Without replicas, a failure is the primary's and is raised."""
    if not settings.KYVS_DATABASE_REPLICAS:
        return read()
    try:
        return read()
    except DatabaseError:
        log.warning("Registry reads failed on a replica; reading the primary instead")
        with transaction.atomic():
            return read()


def _blocked(beneficiary: Beneficiary | None, organisation: Organisation) -> str:
    """Whether the citizen stopped this organisation from checking them: asked whether or
    not anyone matched, so a match and a no-match do the same work."""
    stopping = list(
        CitizenRestriction.objects.stopping(
            beneficiary.pk if beneficiary else None, organisation.pk
        ).values_list("organisation_id", flat=True)[:2]
    )
    if not stopping:
        return Verification.Blocked.NO
    if None in stopping:
        return Verification.Blocked.LOCK
    return Verification.Blocked.ORGANISATION


@dataclass
class Result:
    """What the organisation is told, already cut down to the scopes it was granted."""

    verification_id: str
    organisation: str
    purpose: str
    verified_at: str
    vaccination_status: int
    vaccinations: list[dict] | None = None
    beneficiary: dict | None = None
    # The signed statement of all the above (verification/receipts.py), for the organisation
    # to keep: shown as a QR code on the web, returned by the API.
    receipt: str = ""

    @property
    def status_text(self) -> str:
        return VaccinationStatus(self.vaccination_status).label

    def as_dict(self) -> dict:
        return asdict(self)


def _build_result(verification: Verification) -> Result:
    """The result of a verified `verification`, read from the registry by its beneficiary's
    key: the doses always (one query), the registered details only when the demographics
    scope was granted (one more). Never joined to the verification's row (docs/scaling.md,
    "Joins")."""
    beneficiary_id = verification.beneficiary_id
    doses = Dose.objects.with_vaccines_of(beneficiary_id)
    result = Result(
        verification_id=str(verification.public_id),
        organisation=verification.organisation.name if verification.organisation else "",
        purpose=verification.purpose,
        verified_at=verification.finished_at.isoformat(),
        vaccination_status=int(status_of(doses)),
    )
    if Scope.VACCINATIONS in verification.scopes:
        result.vaccinations = _vaccinations(doses)
    if Scope.DEMOGRAPHICS in verification.scopes:
        result.beneficiary = Beneficiary.objects.values("name", "birth_year", "gender").get(
            pk=beneficiary_id
        )
    return result


def _vaccinations(doses: list[Dose]) -> list[dict]:
    """`doses` (Beneficiary.doses_with_vaccines) as the API and the pages show them, oldest
    first."""
    return [
        {
            "vaccine": dose.vaccine.name,
            "dose_number": dose.dose_number,
            "kind": dose.kind,
            "date": dose.date.isoformat(),
            "centre": dose.centre,
            "district": dose.district,
            "state": dose.state,
        }
        for dose in doses
    ]


@dataclass
class OwnRecord:
    """What "My status" shows a signed-in citizen: their status and doses, read now."""

    vaccination_status: int
    vaccinations: list[dict]

    @property
    def status_text(self) -> str:
        return VaccinationStatus(self.vaccination_status).label


def own_record(beneficiary: Beneficiary) -> OwnRecord:
    """`beneficiary`'s status and doses, for the citizen themself (after their own OTP)."""
    doses = beneficiary.doses_with_vaccines()
    return OwnRecord(int(beneficiary.vaccination_status(doses)), _vaccinations(doses))


@dataclass
class Confirmation:
    """The answer to a code: `ok` with the `result`, or the `reason` it was refused (and the
    wrong codes still allowed)."""

    ok: bool
    reason: Refusal | None = None
    attempts_left: int = 0
    result: Result | None = field(default=None)

    @property
    def message(self) -> str:
        return self.reason.message if self.reason else ""

    @property
    def refused(self) -> VerificationRefused:
        return VerificationRefused(self.reason)


# Why a verification that no longer waits for a code refuses one.
_CLOSED = {
    Verification.State.VERIFIED: Refusal.ALREADY_USED,
    Verification.State.CANCELLED: Refusal.CANCELLED,
    Verification.State.DECLINED: Refusal.DECLINED,
}


def confirm_verification(verification: Verification, submitted_otp: str) -> Confirmation:
    """Check a code, with the row locked so that concurrent answers are taken one at a time:
    of two right answers exactly one succeeds, and wrong guesses can never pass the limit.
    The result of a right code is read from the registry once that transaction has
    committed (_shared).
    """
    now = timezone.now()
    with transaction.atomic():
        v = Verification.objects.locked().get(public_id=verification.public_id)
        refused = _refuse_closed_or_unapproved(v, now)
        if refused is not None:
            return refused
        if v.is_expired(now):
            return Confirmation(
                ok=False, reason=Refusal.OTP_EXPIRED, attempts_left=v.attempts_left
            )
        if not v.code_matches(submitted_otp):
            failed = v.record_wrong_code(now)
            v.save()
            reason = Refusal.TOO_MANY_ATTEMPTS if failed else Refusal.WRONG_OTP
            return Confirmation(ok=False, reason=reason, attempts_left=v.attempts_left)
        _verify(v, now)
    return _shared(v, now)


def _refuse_closed_or_unapproved(v: Verification, now) -> "Confirmation | None":
    if not v.is_waiting_for_code:
        return Confirmation(ok=False, reason=_CLOSED.get(v.state, Refusal.FAILED))
    if v.organisation is not None and not v.organisation.is_approved:
        v.fail(Verification.FailureReason.ORGANISATION_NOT_APPROVED, now)
        v.save()
        return Confirmation(ok=False, reason=Refusal.ORGANISATION_NOT_APPROVED)
    return None


def _verify(v: Verification, now) -> None:
    """The customer agreed (the right code, or their phone's Approve): the verification is
    verified and the citizen's receipt SMS queued. Called with the row locked; the result
    is built once the transaction has committed (_shared)."""
    v.mark_verified(now)
    v.save()
    if not v.is_own_check and settings.KYVS_RECEIPT_SMS:
        queue_receipt(v)


def _shared(v: Verification, now) -> Confirmation:
    """The result of `v`, verified at `now` by a transaction that has committed, built from
    the registry and signed. Nothing of it is recorded (the row keeps the outcome, never the
    answer), so it is read after the commit: outside a transaction the router sends the
    registry's reads to a read replica when there is one (kyvs/db_router.py), and the row
    lock is not held while they run.

    A replica that fails the reads (down, or cut off) is not the end of it: they are made
    again on the primary (_read_registry).

    The price: should the primary's reads or the signature fail too, the verification stays
    verified, its receipt SMS queued (the citizen is told the organisation saw their status,
    which it did not), and the caller gets the error; the organisation must start again. The
    same holds already when the caller fails to hold the result for its screen (the session
    or the cache) after this returns."""
    result = _read_registry(lambda: _build_result(v))
    if v.is_own_check:
        # A receipt proves what an organisation was told; the citizen told no one.
        return Confirmation(ok=True, result=result)
    result.receipt = receipts.sign(
        receipts.receipt_claims(
            organisation_id=str(v.organisation.public_id),
            organisation_name=v.organisation.name,
            result_fields=result.as_dict(),
            issued_at=now,
        )
    )
    return Confirmation(ok=True, result=result)


def _is_token(token: str) -> bool:
    return bool(token) and len(token) <= 64


def verification_for_link(public_id: uuid.UUID, token: str) -> Verification | None:
    """The verification whose "approve on my phone" link is /c/<public_id>/<token>, if that
    link is still one (made with the code now live), with its organisation; None for any
    other pair. One lookup by the public id and the token's keyed digest
    (VerificationQuerySet.for_approve_link): a valid token with another verification's
    public id finds nothing."""
    if not _is_token(token):
        return None
    return (
        Verification.objects.select_related("organisation")
        .for_approve_link(public_id, token)
        .first()
    )


def approve_by_link(public_id: uuid.UUID, token: str) -> Confirmation:
    """The citizen's Approve on their own phone: as the right code would, for the one
    verification the link /c/<public_id>/<token> was made for, once, while its code is
    valid."""
    return _by_link(public_id, token, approve=True)


def decline_by_link(public_id: uuid.UUID, token: str) -> Confirmation:
    """The citizen's Decline on their own phone: the verification ends as declined."""
    return _by_link(public_id, token, approve=False)


def _by_link(public_id: uuid.UUID, token: str, *, approve: bool) -> Confirmation:
    now = timezone.now()
    if not _is_token(token):
        return Confirmation(ok=False, reason=Refusal.NOT_PENDING)
    with transaction.atomic():
        # Locked only if the token is its live link's: a stranger's guess changes nothing.
        v = Verification.objects.locked().for_approve_link(public_id, token).first()
        if v is None:
            return Confirmation(ok=False, reason=Refusal.NOT_PENDING)
        refused = _refuse_closed_or_unapproved(v, now)
        if refused is not None:
            return refused
        if not v.approve_link_matches(token, now):
            reason = Refusal.OTP_EXPIRED if v.is_expired(now) else Refusal.NOT_PENDING
            return Confirmation(ok=False, reason=reason)
        if not approve:
            v.decline(now)
            v.save()
            return Confirmation(ok=False, reason=Refusal.DECLINED)
        _verify(v, now)
    return _shared(v, now)


def decline_verification(verification: Verification) -> None:
    """The customer declines on the shared screen: a verification still waiting for its
    code ends as declined, matched or not. One that has ended already is left as it ended."""
    with transaction.atomic():
        v = Verification.objects.locked().get(public_id=verification.public_id)
        if v.is_waiting_for_code:
            v.decline(timezone.now())
            v.save()


def resend_otp(verification: Verification) -> Verification:
    """A new code for a pending verification; the old one stops working at once. It counts
    against the mobile's OTP allowance like a start, matched or not. VerificationRefused
    when it cannot be sent (too soon, none left, closed, limits)."""
    now = timezone.now()
    allowance = _Allowance(
        verification.organisation_id,
        verification.operator_id,
        verification.api_key_id,
        verification.mobile_masked,
    )
    try:
        v = _renew(verification, allowance, now)
    except BaseException:
        allowance.give_back()
        raise
    v.refresh_from_db()
    return v


def _renew(verification: Verification, allowance: _Allowance, now):
    with transaction.atomic():
        v = Verification.objects.locked().get(public_id=verification.public_id)
        if not v.is_waiting_for_code:
            raise VerificationRefused(Refusal.NOT_PENDING)
        if v.organisation is not None and not v.organisation.is_approved:
            raise VerificationRefused(Refusal.ORGANISATION_NOT_APPROVED)
        if v.resends >= settings.KYVS_OTP_MAX_RESENDS:
            raise VerificationRefused(Refusal.NO_RESENDS_LEFT)
        wait = v.seconds_until_resend(now)
        if wait > 0:
            raise VerificationRefused(
                Refusal.RESEND_TOO_SOON,
                _("A new code can be sent in %(seconds)d seconds.") % {"seconds": wait},
                retry_after=wait,
            )
        allowance.take_mobile(_mobile_of(v))
        v.request_resend(now, translation.get_language())
        v.save()
        queue_code(v, allowance.mobile_keys())
    return v


def cancel_verification(verification: Verification) -> None:
    """Cancel a verification still waiting for its code; the code stops working. One that
    has ended already is left as it ended."""
    with transaction.atomic():
        v = Verification.objects.locked().get(public_id=verification.public_id)
        if v.is_waiting_for_code:
            v.cancel(timezone.now())
            v.save()
