"""Why a step of a verification does not go ahead, with what every channel needs to say so.

A `Refusal` is one reason, for starting, resending or confirming alike. Each carries the
words for a person and the API error it is answered as (verification/api_errors.py: HTTP
status and errorCode). The domain raises `VerificationRefused` (or returns a Confirmation
holding a Refusal, verification/services.py); verification/responses.py turns either into a
page or into JSON, both from the same fields.
"""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from kyvs.api import ApiError
from kyvs.limits import UNAVAILABLE_RETRY_AFTER
from verification.api_errors import ERRORS


class Refusal(StrEnum):
    # Starting or resending.
    ORGANISATION_NOT_APPROVED = "organisation_not_approved"
    NOT_A_MEMBER = "not_a_member"
    PURPOSE_NOT_ALLOWED = "purpose_not_allowed"
    QUOTA_EXCEEDED = "quota_exceeded"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    RESEND_TOO_SOON = "too_soon"
    NO_RESENDS_LEFT = "no_resends_left"
    NOT_PENDING = "not_pending"
    # Confirming a code.
    WRONG_OTP = "wrong"
    OTP_EXPIRED = "expired"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    ALREADY_USED = "already_used"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DECLINED = "declined"

    @property
    def api_error(self) -> ApiError:
        return ERRORS[_FACTS[self][0]]

    @property
    def http_status(self) -> int:
        return self.api_error.status

    @property
    def message(self) -> str:
        """The default words for a person; a refusal may carry more precise ones."""
        return str(_FACTS[self][1])

    @property
    def retry_after(self) -> int | None:
        """Seconds after which the same request may succeed, when that does not depend on
        the request (the cache being back); None when it does, or never will."""
        return UNAVAILABLE_RETRY_AFTER if self is Refusal.UNAVAILABLE else None


# Refusal → (the API error it is answered as, the default words).
_FACTS = {
    Refusal.ORGANISATION_NOT_APPROVED: (
        "organisation_not_approved",
        _("The organisation is not approved to verify customers at present."),
    ),
    Refusal.NOT_A_MEMBER: ("invalid_api_key", _("You do not act for this organisation.")),
    Refusal.PURPOSE_NOT_ALLOWED: (
        "purpose_not_allowed",
        _("Your organisation may not verify for this purpose."),
    ),
    Refusal.QUOTA_EXCEEDED: (
        "quota_exceeded",
        _("Your organisation has used today's verifications."),
    ),
    Refusal.RATE_LIMITED: ("rate_limited", _("Too many requests. Try again later.")),
    Refusal.UNAVAILABLE: (
        "unavailable",
        _("Codes cannot be sent just now. Please try again shortly."),
    ),
    Refusal.RESEND_TOO_SOON: ("resend_too_soon", _("A new code cannot be sent yet.")),
    Refusal.NO_RESENDS_LEFT: (
        "no_resends_left",
        _("No more codes can be sent for this verification."),
    ),
    Refusal.NOT_PENDING: (
        "txn_closed",
        _("This verification is no longer waiting for a code."),
    ),
    Refusal.WRONG_OTP: ("wrong_otp", _("That code is not right.")),
    Refusal.OTP_EXPIRED: ("otp_expired", _("This code has expired. Ask for a new code.")),
    Refusal.TOO_MANY_ATTEMPTS: (
        "too_many_attempts",
        _("Too many wrong codes. This verification has been stopped; please start again."),
    ),
    Refusal.ALREADY_USED: ("txn_closed", _("This verification has already been completed.")),
    Refusal.FAILED: ("txn_closed", _("This verification has been stopped; please start again.")),
    Refusal.CANCELLED: ("txn_closed", _("This verification was cancelled.")),
    Refusal.DECLINED: ("declined", _("The customer declined to share their status.")),
}


class VerificationRefused(Exception):
    """A start or resend that cannot go ahead: `refusal` says why, `message` says it in
    words for the person at hand, `retry_after` (seconds) says when the same request may
    succeed, where it can."""

    def __init__(
        self, refusal: Refusal | str, message: str | None = None, retry_after: int | None = None
    ):
        refusal = Refusal(refusal)  # ValueError for a reason no channel could answer
        super().__init__(str(refusal))
        self.refusal = refusal
        self.message = message or refusal.message
        self.retry_after = retry_after if retry_after is not None else refusal.retry_after

    @property
    def code(self) -> Refusal:
        return self.refusal
