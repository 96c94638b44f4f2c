"""The open JSON API, compatible with CoWIN's KYC-VS v3 API.

generateOTP → confirmOTP → status, plus resendOTP. Each view checks the API key, parses
the body, calls one function of verification/services.py (the same ones the web flow
calls) and answers JSON. Errors are `{"errorCode", "error"}` from verification/api_errors.py;
the OpenAPI document (verification/openapi.py) describes exactly this.
"""

import json
import logging
import math
import uuid
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from kyvs.http import client_ip
from providers.models import ApiKey, Purpose
from verification import otp as otps
from verification import services
from verification.api_errors import (
    CONFIRMATION_FAILURES,
    DEFAULT_RETRY_AFTER,
    ERRORS,
    REFUSALS,
)
from verification.forms import StartForm
from verification.models import Verification
from verification.openapi import openapi_document

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024
_TOKEN_SALT = "kyvs.verification.api.status-token"  # noqa: S105 (a namespace, not a secret)
# The result of a confirmed API verification waits here for the status call. Results are
# not stored in the database (the row is an audit record that never holds the answer), so
# the cache keeps it only as long as the token that can fetch it lives; the cache's own
# expiry deletes it then. Key: the verification's public id.
_RESULT_KEY = "kyvs.api.result.{}"
_LAST_USED_EVERY = timedelta(minutes=1)


class ApiProblem(Exception):
    def __init__(self, name: str, message: str | None = None, retry_after: int | None = None):
        super().__init__(name)
        self.error = ERRORS[name]
        self.message = message
        self.retry_after = retry_after

    def response(self) -> JsonResponse:
        body = {"errorCode": self.error.code, "error": str(self.message or self.error.message)}
        response = JsonResponse(body, status=self.error.status)
        if self.retry_after is not None:
            response["Retry-After"] = str(max(int(self.retry_after), 1))
        return response


def _problem_from_refusal(refusal: services.VerificationRefused) -> ApiProblem:
    name = REFUSALS.get(refusal.code, "refused")
    retry_after = getattr(refusal, "retry_after", None)
    if name == "quota_exceeded" and retry_after is None:
        now = timezone.localtime()
        tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        retry_after = math.ceil((tomorrow - now).total_seconds())
    if retry_after is None:
        retry_after = DEFAULT_RETRY_AFTER.get(name)
    return ApiProblem(name, refusal.message, retry_after=retry_after)


def api_view(*methods: str):
    """CSRF-exempt (the API key, not a cookie, authenticates), never cached, JSON for every
    answer including the wrong method and our own failures."""

    def decorator(view):
        @csrf_exempt
        @never_cache
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            try:
                if request.method not in methods:
                    response = ApiProblem("method_not_allowed").response()
                    response["Allow"] = ", ".join(methods)
                    return response
                return view(request, *args, **kwargs)
            except ApiProblem as problem:
                return problem.response()
            except services.VerificationRefused as refusal:
                return _problem_from_refusal(refusal).response()
            except Exception:
                log.exception("API request failed: %s %s", request.method, request.path)
                return ApiProblem("server_error").response()

        return wrapper

    return decorator


def _authenticate(request: HttpRequest) -> ApiKey:
    """The live API key in X-Api-Key whose organisation is approved; 401 or 403 otherwise.
    Records when the key was last used, at most once a minute, to keep the write cheap."""
    raw = request.headers.get("X-Api-Key", "").strip()
    if not raw:
        raise ApiProblem("missing_api_key")
    key = ApiKey.objects.for_key(raw) if len(raw) <= 200 else None
    if key is None:
        raise ApiProblem("invalid_api_key")
    if not key.organisation.is_approved:
        raise ApiProblem("organisation_not_approved")
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= _LAST_USED_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def _json_body(request: HttpRequest) -> dict:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiProblem("bad_json") from None
    if declared > MAX_BODY_BYTES:
        raise ApiProblem("body_too_large")
    try:
        body = request.body
    except RequestDataTooBig:
        raise ApiProblem("body_too_large") from None
    if len(body) > MAX_BODY_BYTES:
        raise ApiProblem("body_too_large")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise ApiProblem("bad_json") from None
    if not isinstance(data, dict):
        raise ApiProblem("bad_json")
    return data


def _string(data: dict, name: str, *, required: bool = True) -> str | None:
    if name not in data:
        if required:
            raise ApiProblem("invalid_field", f"{name}: this field is required.")
        return None
    value = data[name]
    if not isinstance(value, str):
        raise ApiProblem("invalid_field", f"{name}: must be a string.")
    return value


def _txn_id(data: dict) -> uuid.UUID:
    raw = _string(data, "txnId")
    try:
        return uuid.UUID(raw.strip())
    except ValueError:
        raise ApiProblem("invalid_field", "txnId: must be a UUID.") from None


def _verification_of(key: ApiKey, txn_id: uuid.UUID) -> Verification:
    """The organisation's own API transactions only: another organisation's txnId, or one
    started on the web, answers exactly as an unknown one does."""
    verification = (
        Verification.objects.select_related("organisation")
        .filter(public_id=txn_id, organisation=key.organisation, channel=Verification.Channel.API)
        .first()
    )
    if verification is None:
        raise ApiProblem("unknown_txn")
    return verification


@api_view("POST")
def generate_otp(request: HttpRequest) -> JsonResponse:
    key = _authenticate(request)
    data = _json_body(request)
    full_name = _string(data, "full_name")
    mobile = _string(data, "mobile_number")
    purpose = _string(data, "purpose", required=False)
    if purpose is None:
        choices = key.organisation.purpose_choices()
        purpose = choices[0][0] if choices else ""
    elif purpose not in Purpose.values:
        raise ApiProblem("invalid_field", f"purpose: must be one of {', '.join(Purpose.values)}.")
    # The web form's rules for a name and a mobile; whether the organisation may state the
    # purpose is for services to say.
    form = StartForm(
        {"full_name": full_name, "mobile_number": mobile, "purpose": purpose or Purpose.TRAVEL},
        purposes=Purpose.choices,
    )
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        raise ApiProblem("invalid_field", f"{field}: {errors[0]}")
    verification = services.start_verification(
        organisation=key.organisation,
        api_key=key,
        full_name=form.cleaned_data["full_name"],
        mobile=form.cleaned_data["mobile_number"],
        purpose=purpose,
        channel=Verification.Channel.API,
        ip=client_ip(request),
    )
    return JsonResponse({"txnId": str(verification.public_id)})


@api_view("POST")
def confirm_otp(request: HttpRequest) -> JsonResponse:
    key = _authenticate(request)
    data = _json_body(request)
    code = _string(data, "otp")
    txn_id = _txn_id(data)
    if not otps.is_well_formed(code):
        raise ApiProblem(
            "invalid_field", "otp: must be the SHA-256 (hex) of the 6-digit OTP, or the OTP."
        )
    verification = _verification_of(key, txn_id)
    outcome = services.confirm_verification(verification, code)
    if not outcome.ok:
        name = CONFIRMATION_FAILURES.get(outcome.reason, "txn_closed")
        raise ApiProblem(name, outcome.message or None)
    ttl = settings.KYVS_API_TOKEN_TTL_SECONDS
    cache.set(_RESULT_KEY.format(verification.public_id), outcome.result.as_dict(), ttl)
    token = signing.dumps(
        {"v": str(verification.public_id), "o": str(key.organisation.public_id)},
        salt=_TOKEN_SALT,
    )
    return JsonResponse({"token": token})


@api_view("POST")
def resend_otp(request: HttpRequest) -> JsonResponse:
    key = _authenticate(request)
    data = _json_body(request)
    verification = _verification_of(key, _txn_id(data))
    try:
        services.resend_otp(verification)
    except services.VerificationRefused as refusal:
        problem = _problem_from_refusal(refusal)
        if refusal.code == "too_soon" and getattr(refusal, "retry_after", None) is None:
            wait = (verification.resend_available_at() - timezone.now()).total_seconds()
            problem.retry_after = max(math.ceil(wait), 1)
        raise problem from None
    return JsonResponse({"txnId": str(verification.public_id)})


@api_view("GET")
def status(request: HttpRequest) -> JsonResponse:
    """The result behind a token from confirmOTP, for the same organisation's API keys,
    while the token lives."""
    key = _authenticate(request)
    scheme, _sep, token = request.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiProblem("missing_token")
    try:
        claims = signing.loads(
            token, salt=_TOKEN_SALT, max_age=settings.KYVS_API_TOKEN_TTL_SECONDS
        )
    except signing.BadSignature:
        raise ApiProblem("invalid_token") from None
    if not isinstance(claims, dict) or claims.get("o") != str(key.organisation.public_id):
        raise ApiProblem("invalid_token")
    stored = cache.get(_RESULT_KEY.format(claims.get("v")))
    if stored is None:
        raise ApiProblem("invalid_token")
    result = services.Result(**stored)
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
    raise ApiProblem("not_found")


@api_view("GET")
def openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document())
