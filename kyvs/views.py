"""Project-wide views: the answer to a request that django-ratelimit refused."""

import inspect
import logging
import math

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage
from django_ratelimit.exceptions import Ratelimited

from verification.api_errors import DEFAULT_RETRY_AFTER, ERRORS

log = logging.getLogger(__name__)

API_PREFIX = "/api/"


def ratelimited(request: HttpRequest, exception: Ratelimited) -> HttpResponse:
    """RATELIMIT_VIEW: 429 Too Many Requests with Retry-After, instead of django-ratelimit's
    403. A page for people; the API's own JSON error for anything under /api/, whose clients
    never expect HTML."""
    retry_after = _retry_after(request)
    match = getattr(request, "resolver_match", None)
    log.warning(
        "rate limited: %s, retry after %ss", match.view_name if match else "?", retry_after
    )
    if request.path_info.startswith(API_PREFIX):
        error = ERRORS["rate_limited"]
        response = JsonResponse(
            {"errorCode": error.code, "error": str(error.message)}, status=error.status
        )
    else:
        response = render(
            request,
            "429.html",
            {"minutes": max(math.ceil(retry_after / 60), 1)},
            status=429,
        )
    response["Retry-After"] = str(retry_after)
    return response


def _retry_after(request: HttpRequest) -> int:
    """Seconds until the limit that refused the request lets it through again.

    django-ratelimit's exception does not say which limit it was, so this finds the view's
    @ratelimit decorator (through the __wrapped__ chain that functools.wraps leaves) and asks
    django-ratelimit for that limit's usage, without counting one more request. If the
    decorator cannot be found, the API's default wait is given.
    """
    match = getattr(request, "resolver_match", None)
    view = match.func if match else None
    while view is not None:
        if inspect.isfunction(view):
            limit = inspect.getclosurevars(view).nonlocals
            if {"fn", "group", "key", "rate", "method"} <= limit.keys():
                usage = get_usage(
                    request,
                    group=limit["group"],
                    fn=limit["fn"],
                    key=limit["key"],
                    rate=limit["rate"],
                    method=limit["method"],
                    increment=False,
                )
                if usage is not None:
                    return max(int(usage["time_left"]), 1)
        view = getattr(view, "__wrapped__", None)
    return DEFAULT_RETRY_AFTER["rate_limited"]
