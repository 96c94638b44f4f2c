"""The JSON API's error codes: one table, read by the API views, the OpenAPI document and the
API docs page, so the three cannot drift apart. Codes are stable: clients branch on them.

Every error answers `{"errorCode": CODE, "error": "words for a person"}` with the status
given here. Codes in the style of CoWIN's (`USRAUT0014` for a wrong OTP) keep existing
KYC-VS clients working.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class ApiError:
    status: int
    code: str
    message: Promise  # the default wording; some answers say more


ERRORS: dict[str, ApiError] = {
    "bad_json": ApiError(400, "APPIN0001", _("The body must be a JSON object.")),
    "invalid_field": ApiError(400, "APPIN0002", _("A field is missing or malformed.")),
    "body_too_large": ApiError(413, "APPIN0003", _("The body must be at most 8 KiB.")),
    "method_not_allowed": ApiError(
        405, "APPIN0004", _("This endpoint does not accept that HTTP method.")
    ),
    "not_found": ApiError(404, "APPIN0005", _("There is no such endpoint.")),
    "missing_api_key": ApiError(
        401, "APIKEY0001", _("Send your API key in the X-Api-Key header.")
    ),
    "invalid_api_key": ApiError(401, "APIKEY0002", _("This API key is not valid or was revoked.")),
    "organisation_not_approved": ApiError(
        403, "APIKEY0003", _("Your organisation is not approved to verify customers at present.")
    ),
    "purpose_not_allowed": ApiError(
        403, "PURPOSE0001", _("Your organisation may not verify for this purpose.")
    ),
    "refused": ApiError(403, "REFUSED0001", _("This request cannot go ahead.")),
    "unknown_txn": ApiError(
        404, "TXN0001", _("No transaction of your organisation has this txnId.")
    ),
    "txn_closed": ApiError(
        409, "TXN0002", _("This transaction is closed (verified, failed or cancelled).")
    ),
    "wrong_otp": ApiError(401, "USRAUT0014", _("That OTP is not right.")),
    "otp_expired": ApiError(401, "USRAUT0015", _("This OTP has expired. Ask for a new one.")),
    "too_many_attempts": ApiError(
        401, "USRAUT0016", _("Too many wrong OTPs. This transaction has been stopped.")
    ),
    "no_resends_left": ApiError(
        403, "RESEND0001", _("No more OTPs can be sent for this transaction.")
    ),
    "missing_token": ApiError(
        401, "TOKEN0001", _("Send the token from confirmOTP as Authorization: Bearer TOKEN.")
    ),
    "invalid_token": ApiError(401, "TOKEN0002", _("This token is not valid or has expired.")),
    "rate_limited": ApiError(429, "RATE0001", _("Too many requests. Try again later.")),
    "quota_exceeded": ApiError(
        429, "RATE0002", _("Your organisation has used today's verifications.")
    ),
    "resend_too_soon": ApiError(429, "RATE0003", _("A new OTP cannot be sent yet.")),
    "unavailable": ApiError(503, "SRV0001", _("The service cannot send OTPs just now.")),
    "server_error": ApiError(500, "SRV0002", _("Something went wrong on our side.")),
}

# VerificationRefused.code (verification/services.py) → the error above. A code missing
# here answers as "refused" (403) with the refusal's own words.
REFUSALS: dict[str, str] = {
    "organisation_not_approved": "organisation_not_approved",
    "not_a_member": "invalid_api_key",
    "purpose_not_allowed": "purpose_not_allowed",
    "quota_exceeded": "quota_exceeded",
    "rate_limited": "rate_limited",
    "too_soon": "resend_too_soon",
    "no_resends_left": "no_resends_left",
    "not_pending": "txn_closed",
    "sms_not_sent": "unavailable",
    "unavailable": "unavailable",
}

# Confirmation.reason (verification/services.py) → the error above.
CONFIRMATION_FAILURES: dict[str, str] = {
    "wrong": "wrong_otp",
    "expired": "otp_expired",
    "too_many_attempts": "too_many_attempts",
    "already_used": "txn_closed",
    "failed": "txn_closed",
    "cancelled": "txn_closed",
    "organisation_not_approved": "organisation_not_approved",
}

# Seconds a client should wait when a refusal does not say (Retry-After).
DEFAULT_RETRY_AFTER = {"rate_limited": 60, "unavailable": 30, "resend_too_soon": 30}
