"""The open JSON API, compatible with CoWIN's KYC-VS v3 API.

generateOTP → confirmOTP → status, plus resendOTP. Each view is authenticated by
providers.access.api_key_required, gets the body parsed by kyvs.api.json_body, validates it
with the channel-neutral input of verification/inputs.py, calls one function of
verification/services.py (the same ones the web flow calls) and answers JSON. Errors are
`{"errorCode", "error"}` (kyvs/api.py, verification/api_errors.py); the OpenAPI document
(verification/openapi.py) describes exactly this.
"""

import uuid

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, JsonResponse

from kyvs.api import ApiProblem, api_view, invalid_field, string_field
from kyvs.http import client_ip
from providers.models import Purpose
from verification import otp as otps
from verification import services
from verification.api_errors import ERRORS
from verification.handoff import CacheStore, ResultHandOff
from verification.inputs import StartInput
from verification.models import Verification
from verification.openapi import openapi_document
from verification.responses import api_endpoint

_TOKEN_SALT = "kyvs.verification.api.status-token"  # noqa: S105 (a namespace, not a secret)


def _results() -> ResultHandOff:
    """A confirmed result waits in the shared cache for the status call, as long as the
    token that can fetch it lives (KYVS_API_TOKEN_TTL_SECONDS); a client may fetch it again
    in that time."""
    return ResultHandOff(CacheStore(), settings.KYVS_API_TOKEN_TTL_SECONDS)


def _txn_id(data: dict) -> uuid.UUID:
    raw = string_field(data, "txnId")
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise invalid_field("txnId: must be a UUID.") from None


def _verification_of(request: HttpRequest, txn_id: uuid.UUID) -> Verification:
    """The organisation's own API transactions only: another organisation's txnId, or one
    started on the web, answers exactly as an unknown one does."""
    verification = (
        Verification.objects.for_organisation(request.organisation)
        .through(Verification.Channel.API)
        .select_related("organisation")
        .filter(public_id=txn_id)
        .first()
    )
    if verification is None:
        raise ApiProblem(ERRORS["unknown_txn"])
    return verification


@api_endpoint("POST", body=True)
def generate_otp(request: HttpRequest, data: dict) -> JsonResponse:
    # Missing ones are the form's to name, with every other problem of the request.
    full_name = string_field(data, "full_name", required=False)
    mobile = string_field(data, "mobile_number", required=False)
    purpose = string_field(data, "purpose", required=False)
    if purpose is None:
        choices = request.organisation.purpose_choices()
        purpose = choices[0][0] if choices else Purpose.TRAVEL
    # Whether the organisation may state the purpose is for services to say.
    start = StartInput(
        {"full_name": full_name, "mobile_number": mobile, "purpose": purpose},
        purposes=Purpose.choices,
    )
    if not start.is_valid():
        raise invalid_field(start.error_summary())
    verification = services.start_verification(
        organisation=request.organisation,
        api_key=request.api_key,
        channel=Verification.Channel.API,
        ip=client_ip(request),
        **start.start_arguments(),
    )
    return JsonResponse({"txnId": str(verification.public_id)})


@api_endpoint("POST", body=True)
def confirm_otp(request: HttpRequest, data: dict) -> JsonResponse:
    code = otps.parse_otp(string_field(data, "otp"))
    txn_id = _txn_id(data)
    if code is None:
        raise invalid_field("otp: must be the SHA-256 (hex) of the 6-digit OTP, or the OTP.")
    verification = _verification_of(request, txn_id)
    outcome = services.confirm_verification(verification, code)
    if not outcome.ok:
        raise outcome.refused
    _results().hold(outcome.result)
    token = signing.dumps(
        {"v": str(verification.public_id), "o": str(request.organisation.public_id)},
        salt=_TOKEN_SALT,
    )
    return JsonResponse({"token": token})


@api_endpoint("POST", body=True)
def resend_otp(request: HttpRequest, data: dict) -> JsonResponse:
    verification = _verification_of(request, _txn_id(data))
    services.resend_otp(verification)
    return JsonResponse({"txnId": str(verification.public_id)})


@api_endpoint("GET", body=False)
def status(request: HttpRequest) -> JsonResponse:
    """The result behind a token from confirmOTP, for the same organisation's API keys,
    while the token lives."""
    scheme, _sep, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiProblem(ERRORS["missing_token"])
    try:
        claims = signing.loads(
            token, salt=_TOKEN_SALT, max_age=settings.KYVS_API_TOKEN_TTL_SECONDS
        )
    except signing.BadSignature:
        raise ApiProblem(ERRORS["invalid_token"]) from None
    if not isinstance(claims, dict) or claims.get("o") != str(request.organisation.public_id):
        raise ApiProblem(ERRORS["invalid_token"])
    result = _results().collect(str(claims.get("v")), once=False)
    if result is None:
        raise ApiProblem(ERRORS["invalid_token"])
    body = {
        "vaccination_status": result.vaccination_status,
        "status_text": str(result.status_text),
        "verification_id": result.verification_id,
        "verified_at": result.verified_at,
        "receipt": result.receipt,
    }
    if result.vaccinations is not None:
        body["vaccinations"] = result.vaccinations
    if result.beneficiary is not None:
        body["beneficiary"] = result.beneficiary
    return JsonResponse(body)


@api_view("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
def not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    raise ApiProblem(ERRORS["not_found"])


@api_view("GET")
def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document())
