"""The verification workflow: start, confirm, resend, cancel.

The hosted webpage, the embedded page and the API all call these functions; none of them
has a verification flow of its own.
"""

import logging
import math
import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kyvs import limits
from providers.models import Organisation, Purpose, Scope
from verification import otp as otps
from verification import receipts, registry
from verification.delivery import OtpJob, dispatch
from verification.models import Beneficiary, VaccinationStatus, Verification

log = logging.getLogger(__name__)


class VerificationRefused(Exception):
    """The request cannot go ahead; `message` says why, in words for the person at hand."""

    def __init__(self, code: str, message: str, retry_after: int | None = None):
        super().__init__(code)
        self.code = code
        self.message = message
        # Seconds after which the same request may succeed (rate limits, a cache outage).
        self.retry_after = retry_after


UNAVAILABLE_RETRY_AFTER = 30


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
        if api_key_pk is not None:
            self.actor = f"key:{api_key_pk}"
        elif operator_pk is not None:
            self.actor = f"user:{operator_pk}"
        else:
            self.actor = ""
        self.audit = (
            f"organisation #{organisation_pk}, {self.actor or 'no actor'}, {masked_mobile}"
        )

    def _take(self, name: str, ident: str, limit: int, window: int, message: str) -> None:
        try:
            usage = limits.consume(name, ident, limit, window)
        except limits.CacheUnavailable:
            log.error("code not sent: the rate limit cache is unavailable (%s)", self.audit)
            raise _unavailable() from None
        self.taken.append(usage)
        if name == "otp-mobile":
            self.mobile.append(usage)
        if usage.exceeded:
            log.warning(
                "code not sent: %s limit of %d per %ds reached (%s)",
                name,
                limit,
                window,
                self.audit,
            )
            minutes = math.ceil(usage.retry_after / 60)
            wait = ngettext(
                "Please try again in %(minutes)d minute.",
                "Please try again in %(minutes)d minutes.",
                minutes,
            ) % {"minutes": minutes}
            raise VerificationRefused(
                "rate_limited", f"{message} {wait}", retry_after=usage.retry_after
            )

    def take_start(self) -> None:
        if self.actor:
            self._take(
                "starts",
                self.actor,
                settings.KYVS_STARTS_PER_ACTOR,
                settings.KYVS_STARTS_WINDOW_SECONDS,
                _("Too many verifications have been started from this account in a short time."),
            )

    def take_mobile(self, mobile_ident: str) -> None:
        message = _("Too many codes have been sent to this mobile number.")
        for limit, window in (
            (settings.KYVS_OTPS_PER_MOBILE_PER_HOUR, 3600),
            (settings.KYVS_OTPS_PER_MOBILE_PER_DAY, 86400),
        ):
            self._take("otp-mobile", mobile_ident, limit, window, message)

    def give_back(self) -> None:
        limits.refund(self.taken)
        self.taken = []


def _unavailable() -> VerificationRefused:
    return VerificationRefused(
        "unavailable",
        _("Codes cannot be sent just now. Please try again shortly."),
        retry_after=UNAVAILABLE_RETRY_AFTER,
    )


# A resend counts against the same mobile as its start, matched or not; the keyed hash of
# that mobile waits in the cache (the row keeps only the masked number).
_MOBILE_OF = "verification-mobile:{}"
_MOBILE_OF_TIMEOUT = 86400


def _remember_mobile(verification: Verification, mobile_ident: str) -> None:
    try:
        cache.set(_MOBILE_OF.format(verification.public_id), mobile_ident, _MOBILE_OF_TIMEOUT)
    except limits.CACHE_ERRORS:
        raise _unavailable() from None


def _mobile_of(verification: Verification) -> str:
    try:
        ident = cache.get(_MOBILE_OF.format(verification.public_id))
    except limits.CACHE_ERRORS:
        raise _unavailable() from None
    if ident is None:
        raise VerificationRefused(
            "no_resends_left", _("No more codes can be sent for this verification.")
        )
    return ident


def _check_may_start(organisation: Organisation, operator, api_key, purpose: str) -> None:
    if not organisation.is_approved:
        raise VerificationRefused(
            "organisation_not_approved",
            _("Your organisation is not approved to verify customers at present."),
        )
    if api_key is not None:
        acts_for_it = api_key.organisation_id == organisation.pk and api_key.is_active
    else:
        membership = getattr(operator, "membership", None) if operator is not None else None
        acts_for_it = membership is not None and membership.organisation_id == organisation.pk
    if not acts_for_it:
        raise VerificationRefused("not_a_member", _("You do not act for this organisation."))
    if purpose not in organisation.purposes:
        raise VerificationRefused(
            "purpose_not_allowed", _("Your organisation may not verify for this purpose.")
        )
    if organisation.started_today() >= organisation.daily_quota:
        raise VerificationRefused(
            "quota_exceeded",
            _("Your organisation has used today's %(quota)d verifications.")
            % {"quota": organisation.daily_quota},
        )


def _otp_sms_body(verification: Verification, code: str) -> str:
    minutes = max(settings.KYVS_OTP_TTL_SECONDS // 60, 1)
    return _(
        "%(otp)s is your OTP to share your vaccination status with %(organisation)s "
        "for %(purpose)s. Valid %(minutes)d minutes. Do not share it with anyone else."
    ) % {
        "otp": code,
        "organisation": verification.organisation.name,
        "purpose": Purpose(verification.purpose).label,
        "minutes": minutes,
    }


def _issue_code(verification: Verification, now) -> str:
    code = otps.make_otp()
    verification.otp_hash = otps.hash_otp(code, str(verification.public_id))
    verification.otp_sent_at = now
    verification.otp_expires_at = now + timedelta(seconds=settings.KYVS_OTP_TTL_SECONDS)
    return code


def _send(verification: Verification, job: OtpJob) -> None:
    """Hand the SMS to delivery (see verification/delivery.py: matched or not, the request
    does the same work). A code that could not be delivered is void and the verification
    failed with reason `sms_not_sent`; with KYVS_SMS_QUEUE=sync that is known at once."""
    if dispatch(job) is False:
        verification.refresh_from_db()


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
) -> Verification:
    """Start a verification and send the OTP to the registered mobile.

    The actor is an operator (a user) or an API key of the organisation. The caller
    learns nothing about whether anyone matched: with no match, or with two
    people of the same name on the number, the row is created just the same, no SMS is
    sent and every code will fail.

    Rate limits are taken first and given back if anything refuses, then the row is
    written, then the SMS handed over: a refused start leaves no row, sends nothing and
    uses up no allowance. `ip` is the client's address (kyvs.http.client_ip), for the audit.
    """
    number = registry.normalise_mobile(mobile)
    mobile_ident = limits.keyed_hash(number)
    allowance = _Allowance(
        organisation.pk,
        operator.pk if operator is not None else None,
        api_key.pk if api_key is not None else None,
        registry.mask_mobile(number),
    )
    try:
        allowance.take_start()
        allowance.take_mobile(mobile_ident)
        verification, job = _create(
            organisation, operator, api_key, full_name, number, purpose, channel, ip
        )
        job.allowance = allowance.mobile
    except BaseException:
        allowance.give_back()
        raise
    _send(verification, job)
    return verification


def _create(organisation, operator, api_key, full_name, number, purpose, channel, ip):
    now = timezone.now()
    with transaction.atomic():
        # The lock makes the quota count and the insert one step per organisation.
        organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
        _check_may_start(organisation, operator, api_key, purpose)
        matches = list(Beneficiary.objects.matching(full_name, number)[:2])
        beneficiary = matches[0] if len(matches) == 1 else None
        verification = Verification(
            public_id=uuid.uuid4(),
            organisation=organisation,
            operator=operator,
            api_key=api_key,
            channel=channel,
            purpose=purpose,
            scopes=api_key.granted_scopes() if api_key else organisation.granted_scopes(),
            beneficiary=beneficiary,
            mobile_masked=registry.mask_mobile(number),
            ip=ip,
            created_at=now,
        )
        code = _issue_code(verification, now)
        verification.save()
        _remember_mobile(verification, limits.keyed_hash(number))
        job = OtpJob(
            verification_pk=verification.pk,
            otp_hash=verification.otp_hash,
            mobile=number if beneficiary is not None else "",
            body=_otp_sms_body(verification, code),
        )
    return verification, job


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
    person = verification.beneficiary
    result = Result(
        verification_id=str(verification.public_id),
        organisation=verification.organisation.name,
        purpose=verification.purpose,
        verified_at=verification.finished_at.isoformat(),
        vaccination_status=int(person.vaccination_status()),
    )
    if Scope.VACCINATIONS in verification.scopes:
        result.vaccinations = [
            {
                "vaccine": dose.vaccine.name,
                "dose_number": dose.dose_number,
                "kind": dose.kind,
                "date": dose.date.isoformat(),
                "centre": dose.centre,
                "district": dose.district,
                "state": dose.state,
            }
            for dose in person.doses.select_related("vaccine")
        ]
    if Scope.DEMOGRAPHICS in verification.scopes:
        result.beneficiary = {
            "name": person.name,
            "birth_year": person.birth_year,
            "gender": person.gender,
        }
    return result


@dataclass
class Confirmation:
    ok: bool
    reason: str = ""
    attempts_left: int = 0
    result: Result | None = field(default=None)

    REASONS = {
        "wrong": gettext_lazy("That code is not right."),
        "too_many_attempts": gettext_lazy(
            "Too many wrong codes. This verification has been stopped; please start again."
        ),
        "expired": gettext_lazy("This code has expired. Ask for a new code."),
        "already_used": gettext_lazy("This verification has already been completed."),
        "failed": gettext_lazy("This verification has been stopped; please start again."),
        "cancelled": gettext_lazy("This verification was cancelled."),
        "organisation_not_approved": gettext_lazy(
            "The organisation is not approved to verify customers at present."
        ),
    }

    @property
    def message(self) -> str:
        return str(self.REASONS.get(self.reason, ""))


def confirm_verification(verification: Verification, submitted_otp: str) -> Confirmation:
    """Check a code, with the row locked so that concurrent answers are taken one at a time:
    of two right answers exactly one succeeds, and wrong guesses can never pass the limit.
    """
    now = timezone.now()
    with transaction.atomic():
        v = (
            # of=("self",): PostgreSQL cannot lock the nullable side of the outer join.
            Verification.objects.select_for_update(of=("self",))
            .select_related("organisation", "beneficiary")
            .get(pk=verification.pk)
        )
        if v.state != Verification.State.OTP_SENT:
            reason = {
                Verification.State.VERIFIED: "already_used",
                Verification.State.CANCELLED: "cancelled",
            }.get(v.state, "failed")
            return Confirmation(ok=False, reason=reason)
        if not v.organisation.is_approved:
            v.state = Verification.State.FAILED
            v.failure_reason = Verification.FailureReason.ORGANISATION_NOT_APPROVED
            v.otp_hash = ""
            v.finished_at = now
            v.save()
            return Confirmation(ok=False, reason="organisation_not_approved")
        if v.is_expired(now):
            return Confirmation(ok=False, reason="expired", attempts_left=v.attempts_left)

        right = otps.otp_matches(v.otp_hash, submitted_otp, str(v.public_id))
        if not right or v.beneficiary is None:
            v.attempts += 1
            reason = "wrong"
            if v.attempts >= settings.KYVS_OTP_MAX_ATTEMPTS:
                v.state = Verification.State.FAILED
                v.failure_reason = Verification.FailureReason.TOO_MANY_ATTEMPTS
                v.otp_hash = ""
                v.finished_at = now
                reason = "too_many_attempts"
            v.save()
            return Confirmation(ok=False, reason=reason, attempts_left=v.attempts_left)

        v.state = Verification.State.VERIFIED
        v.otp_hash = ""
        v.finished_at = now
        v.save()
        result = _build_result(v)
        result.receipt = receipts.sign(
            receipts.receipt_claims(
                organisation_id=str(v.organisation.public_id),
                organisation_name=v.organisation.name,
                result_fields=result.as_dict(),
                issued_at=now,
            )
        )
        return Confirmation(ok=True, result=result)


def resend_otp(verification: Verification) -> Verification:
    """A new code for a pending verification; the old one stops working at once. It counts
    against the mobile's OTP allowance like a start, matched or not."""
    now = timezone.now()
    allowance = _Allowance(
        verification.organisation_id,
        verification.operator_id,
        verification.api_key_id,
        verification.mobile_masked,
    )
    try:
        v, job = _renew(verification, allowance, now)
    except BaseException:
        allowance.give_back()
        raise
    _send(v, job)
    return v


def _renew(verification: Verification, allowance: _Allowance, now):
    with transaction.atomic():
        v = (
            # of=("self",): PostgreSQL cannot lock the nullable side of the outer join.
            Verification.objects.select_for_update(of=("self",))
            .select_related("organisation", "beneficiary")
            .get(pk=verification.pk)
        )
        if v.state != Verification.State.OTP_SENT:
            raise VerificationRefused(
                "not_pending", _("This verification is no longer waiting for a code.")
            )
        if not v.organisation.is_approved:
            raise VerificationRefused(
                "organisation_not_approved",
                _("The organisation is not approved to verify customers at present."),
            )
        if v.resends >= settings.KYVS_OTP_MAX_RESENDS:
            raise VerificationRefused(
                "no_resends_left", _("No more codes can be sent for this verification.")
            )
        wait = (v.resend_available_at() - now).total_seconds()
        if wait > 0:
            raise VerificationRefused(
                "too_soon",
                _("A new code can be sent in %(seconds)d seconds.") % {"seconds": int(wait) + 1},
            )
        allowance.take_mobile(_mobile_of(v))
        code = _issue_code(v, now)
        v.resends += 1
        v.save()
        job = OtpJob(
            verification_pk=v.pk,
            otp_hash=v.otp_hash,
            mobile=v.beneficiary.mobile if v.beneficiary is not None else "",
            body=_otp_sms_body(v, code),
            allowance=allowance.mobile,
        )
    return v, job


def cancel_verification(verification: Verification) -> None:
    Verification.objects.filter(pk=verification.pk, state=Verification.State.OTP_SENT).update(
        state=Verification.State.CANCELLED, otp_hash="", finished_at=timezone.now()
    )
