"""The JSON API's error table: one table, read by the API views (through
verification/refusals.py), the OpenAPI document and the API docs page, so the three cannot
drift apart. The format and the request-level errors are kyvs/api.py's; these are the
verification endpoints' own. Codes are stable: clients branch on them.
"""

from django.utils.translation import gettext_lazy as _

from kyvs.api import ERRORS as REQUEST_ERRORS
from kyvs.api import ApiError

ERRORS: dict[str, ApiError] = {
    **REQUEST_ERRORS,
    "purpose_not_allowed": ApiError(
        403, "PURPOSE0001", _("Your organisation may not verify for this purpose.")
    ),
    "unknown_txn": ApiError(
        404, "TXN0001", _("No transaction of your organisation has this txnId.")
    ),
    "txn_closed": ApiError(
        409, "TXN0002", _("This transaction is closed (verified, failed or cancelled).")
    ),
    "declined": ApiError(409, "TXN0003", _("The customer declined to share their status.")),
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
    # Embed sessions (verification/embed_api.py).
    "origin_not_registered": ApiError(
        403,
        "EMBED0001",
        _("This origin is not registered for your organisation's embedded page."),
    ),
    "unknown_embed_session": ApiError(
        404, "EMBED0002", _("No embed session made with this API key has this id.")
    ),
}
