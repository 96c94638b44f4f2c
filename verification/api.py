"""The open JSON API, compatible with CoWIN's KYC-VS v3 API.

generateOTP → confirmOTP → status, plus resendOTP. Each view is authenticated by
providers.access.api_key_required, gets the body parsed by kyvs.api.json_body, validates it
with the channel-neutral input of verification/inputs.py, calls one function of
verification/services.py (the same ones the web flow calls) and answers JSON. Errors are
`{"errorCode", "error"}` (kyvs/api.py, verification/api_errors.py); the OpenAPI document
(verification/openapi.py) describes exactly this.
"""

import uuid
from functools import wraps

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse

from kyvs import limits
from kyvs.api import ApiProblem, api_view, json_body
from kyvs.http import client_ip
from providers.access import api_key_required
from providers.models import Purpose
from verification import otp as otps
from verification import services
from verification.api_errors import ERRORS
from verification.handoff import CacheStore, ResultHandOff
from verification.inputs import StartInput
from verification.models import Verification
from verification.openapi import openapi_document
from verification.responses import refusal_problem

_TOKEN_SALT = "kyvs.verification.api.status-token"  # noqa: S105 (a namespace, not a secret)


def _results() -> ResultHandOff:
    """A confirmed result waits in the shared cache for the status call, as long as the
    token that can fetch it lives (KYVS_API_TOKEN_TTL_SECONDS); a client may fetch it again
    in that time."""
    return ResultHandOff(CacheStore(), settings.KYVS_API_TOKEN_TTL_SECONDS)


def _endpoint(method: str, *, body: bool):
    """A verification endpoint: kyvs.api.api_view for `method`, an API key
    (providers.access), the JSON body parsed once when `body` (passed as `data`), a
    VerificationRefused from the domain answered as the API's error for it, and on every
    answer after the key the RateLimit headers of the limit closest to biting."""

    def decorator(view):
        inner = json_body(view) if body else view

        @wraps(view)
        def answering(request: HttpRequest, *args, **kwargs):
            try:
                response = inner(request, *args, **kwargs)
            except services.VerificationRefused as refused:
                response = refusal_problem(refused).response()
            except ApiProblem as problem:
                response = problem.response()
            _add_quota_headers(response, request.api_key)
            return response

        return api_view(method)(api_key_required(answering))

    return decorator


def _add_quota_headers(response: HttpResponse, api_key) -> None:
    """RateLimit-Limit, -Remaining and -Reset (seconds), as the IETF httpapi working group's
    draft names them (draft-ietf-httpapi-ratelimit-headers), for services.api_quota. Left
    out when the cache cannot say: the answer itself matters more."""
    try:
        standing = services.api_quota(api_key)
    except limits.CacheUnavailable:
        return
    response["RateLimit-Limit"] = str(standing.limit)
    response["RateLimit-Remaining"] = str(standing.remaining)
    response["RateLimit-Reset"] = str(standing.reset)


def _invalid(message: str) -> ApiProblem:
    return ApiProblem(ERRORS["invalid_field"], message)


def _string(data: dict, name: str, *, required: bool = True) -> str | None:
    if name not in data:
        if required:
            raise _invalid(f"{name}: this field is required.")
        return None
    value = data[name]
    if not isinstance(value, str):
        raise _invalid(f"{name}: must be a string.")
    return value


def _txn_id(data: dict) -> uuid.UUID:
    raw = _string(data, "txnId")
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise _invalid("txnId: must be a UUID.") from None


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


@_endpoint("POST", body=True)
def generate_otp(request: HttpRequest, data: dict) -> JsonResponse:
    full_name = _string(data, "full_name")
    mobile = _string(data, "mobile_number")
    purpose = _string(data, "purpose", required=False)
    if purpose is None:
        choices = request.organisation.purpose_choices()
        purpose = choices[0][0] if choices else Purpose.TRAVEL
    # Whether the organisation may state the purpose is for services to say.
    start = StartInput(
        {"full_name": full_name, "mobile_number": mobile, "purpose": purpose},
        purposes=Purpose.choices,
    )
    if not start.is_valid():
        raise _invalid(start.first_error())
    verification = services.start_verification(
        organisation=request.organisation,
        api_key=request.api_key,
        channel=Verification.Channel.API,
        ip=client_ip(request),
        **start.start_arguments(),
    )
    return JsonResponse({"txnId": str(verification.public_id)})


@_endpoint("POST", body=True)
def confirm_otp(request: HttpRequest, data: dict) -> JsonResponse:
    code = otps.parse_otp(_string(data, "otp"))
    txn_id = _txn_id(data)
    if code is None:
        raise _invalid("otp: must be the SHA-256 (hex) of the 6-digit OTP, or the OTP.")
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


@_endpoint("POST", body=True)
def resend_otp(request: HttpRequest, data: dict) -> JsonResponse:
    verification = _verification_of(request, _txn_id(data))
    services.resend_otp(verification)
    return JsonResponse({"txnId": str(verification.public_id)})


@_endpoint("GET", body=False)
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
