"""The JSON API's plumbing, whatever the endpoint: its error format, its view decorator and
its body parser. What an endpoint does is its app's business (verification/api.py).

Every error answers `{"errorCode": CODE, "error": "words for a person"}` with an HTTP status,
and Retry-After (seconds) where waiting helps. Codes are stable: clients branch on them.
Codes in the style of CoWIN's KYC-VS API (`USRAUT0014` for a wrong OTP) keep existing
clients working.
"""

import json
import logging
from dataclasses import dataclass
from functools import wraps

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from kyvs.outages import OUTAGES, RETRY_AFTER

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 8 * 1024


@dataclass(frozen=True)
class ApiError:
    """One kind of error: HTTP status, the stable `errorCode`, the default words."""

    status: int
    code: str
    message: Promise


# The errors of the API itself, before any endpoint's own work: the request's shape and
# the API key. Endpoints add their own (verification/api_errors.py).
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
    "server_error": ApiError(500, "SRV0002", _("Something went wrong on our side.")),
    "service_unavailable": ApiError(
        503, "SRV0003", _("The service is not available just now. Try again shortly.")
    ),
}


class ApiProblem(Exception):
    """Answer the request with `error` (and `message` instead of its default words, and
    Retry-After: `retry_after` seconds, where given)."""

    def __init__(self, error: ApiError, message: str | None = None, retry_after=None):
        super().__init__(error.code)
        self.error = error
        self.message = message
        self.retry_after = retry_after

    def response(self) -> JsonResponse:
        body = {"errorCode": self.error.code, "error": str(self.message or self.error.message)}
        response = JsonResponse(body, status=self.error.status)
        if self.retry_after is not None:
            response["Retry-After"] = str(max(int(self.retry_after), 1))
        return response


def invalid_field(message: str) -> ApiProblem:
    """400 `invalid_field`, with `message` saying which field and why ("name: why.")."""
    return ApiProblem(ERRORS["invalid_field"], message)


def string_field(data: dict, name: str, *, required: bool = True) -> str | None:
    """`data[name]`, which must be a string; None when absent and not `required`.
    invalid_field otherwise."""
    if name not in data:
        if required:
            raise invalid_field(f"{name}: this field is required.")
        return None
    value = data[name]
    if not isinstance(value, str):
        raise invalid_field(f"{name}: must be a string.")
    return value


def api_view(*methods: str):
    """CSRF-exempt (an API key, not a cookie, authenticates), never cached, JSON for every
    answer, including the wrong method (405 with Allow) and our own failures (500)."""

    def decorator(view):
        @csrf_exempt
        @never_cache
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            try:
                if request.method not in methods:
                    response = ApiProblem(ERRORS["method_not_allowed"]).response()
                    response["Allow"] = ", ".join(methods)
                    return response
                return view(request, *args, **kwargs)
            except ApiProblem as problem:
                return problem.response()
            except OUTAGES:
                log.error("API request failed: the database or the cache is out of reach")
                problem = ApiProblem(ERRORS["service_unavailable"], retry_after=RETRY_AFTER)
                return problem.response()
            except Exception:
                log.exception("API request failed: %s %s", request.method, request.path)
                return ApiProblem(ERRORS["server_error"]).response()

        return wrapper

    return decorator


def json_body(view):
    """Parse the body, once, as a JSON object of at most MAX_BODY_BYTES and pass it to the
    view as `data`: view(request, data, ...). 413 for a larger body (checked against the
    declared length before reading), 400 for anything but a JSON object."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise ApiProblem(ERRORS["bad_json"]) from None
        if declared > MAX_BODY_BYTES:
            raise ApiProblem(ERRORS["body_too_large"])
        try:
            body = request.body
        except RequestDataTooBig:
            raise ApiProblem(ERRORS["body_too_large"]) from None
        if len(body) > MAX_BODY_BYTES:
            raise ApiProblem(ERRORS["body_too_large"])
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise ApiProblem(ERRORS["bad_json"]) from None
        if not isinstance(data, dict):
            raise ApiProblem(ERRORS["bad_json"])
        return view(request, data, *args, **kwargs)

    return wrapper
