"""The verification workflow: start, confirm, resend, cancel.

The hosted webpage, the embedded page and the API all call these functions; none of them
has a verification flow of its own.
"""

import logging
import uuid
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from providers.models import Organisation, Purpose, Scope
from verification import otp as otps
from verification import receipts, registry
from verification.models import Beneficiary, VaccinationStatus, Verification
from verification.sms import SmsError, send_sms

log = logging.getLogger(__name__)


class VerificationRefused(Exception):
    """The request cannot go ahead; `message` says why, in words for the person at hand."""

    def __init__(self, code: str, message: str):
        super().__init__(code)
        self.code = code
        self.message = message


def _today_start():
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


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
    started_today = organisation.verifications.filter(created_at__gte=_today_start()).count()
    if started_today >= organisation.daily_quota:
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


def _deliver(verification: Verification, mobile: str, code: str) -> None:
    """Send the code, or void it: an OTP that did not go out must not stay valid."""
    try:
        send_sms(mobile, _otp_sms_body(verification, code))
    except SmsError:
        log.warning("SMS not sent for verification %s", verification.public_id)
        Verification.objects.filter(pk=verification.pk).update(
            state=Verification.State.FAILED,
            failure_reason=Verification.FailureReason.SMS_NOT_SENT,
            otp_hash="",
            finished_at=timezone.now(),
        )
        raise VerificationRefused(
            "sms_not_sent",
            _("The SMS could not be sent just now. Please try again in a moment."),
        ) from None


def start_verification(
    *,
    organisation: Organisation,
    operator=None,
    api_key=None,
    full_name: str,
    mobile: str,
    purpose: str,
    channel: str = Verification.Channel.WEB,
) -> Verification:
    """Start a verification and send the OTP to the registered mobile.

    The actor is an operator (a user) or an API key of the organisation. The caller
    learns nothing about whether anyone matched: with no match, or with two
    people of the same name on the number, the row is created just the same, no SMS is
    sent and every code will fail.
    """
    number = registry.normalise_mobile(mobile)
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
            created_at=now,
        )
        code = _issue_code(verification, now)
        verification.save()
    if beneficiary is not None:
        _deliver(verification, number, code)
    return verification


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
            Verification.objects.select_for_update()
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
    """A new code for a pending verification; the old one stops working at once."""
    now = timezone.now()
    with transaction.atomic():
        v = (
            Verification.objects.select_for_update()
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
        code = _issue_code(v, now)
        v.resends += 1
        v.save()
    if v.beneficiary is not None:
        _deliver(v, v.beneficiary.mobile, code)
    return v


def cancel_verification(verification: Verification) -> None:
    Verification.objects.filter(pk=verification.pk, state=Verification.State.OTP_SENT).update(
        state=Verification.State.CANCELLED, otp_hash="", finished_at=timezone.now()
    )
