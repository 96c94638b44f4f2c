"""Project-wide answers: a page for a request that a rate limit refused, or that could not
be counted because the cache is down; and the answer to a request that failed because the
database or the cache was out of reach (503, not 500: the same request will work again)."""

import logging
import sys

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
from django.views.decorators.csrf import requires_csrf_token

from kyvs.api import ERRORS, ApiProblem
from kyvs.http import sessionless
from kyvs.limits import CacheUnavailable, RateLimited
from kyvs.outages import OUTAGES, RETRY_AFTER

log = logging.getLogger(__name__)

API_PREFIX = "/api/"


def limit_refused_page(request: HttpRequest, refusal: RateLimited | CacheUnavailable):
    """429 with the limit's wait, or 503 when the cache that counts is down; Retry-After in
    seconds either way, read from the refusal itself."""
    if isinstance(refusal, RateLimited):
        # Back to where the person was: the form they sent (it answers GET with itself).
        back = request.get_full_path() if request.method == "POST" else ""
        response = render(
            request, "429.html", {"minutes": refusal.minutes, "back": back}, status=429
        )
    else:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(refusal.retry_after)
    return response


def outage_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: the API's JSON under /api/, else a page that needs neither the
    database nor the cache to render."""
    if request.path_info.startswith(API_PREFIX):
        response = ApiProblem(ERRORS["service_unavailable"]).response()
    else:
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    return response


def home(request: HttpRequest) -> HttpResponse:
    """The front door: a citizen checks their own status; an organisation signs in or
    applies. It says what KYVS is and is not. A signed-in member or registry admin goes on
    to their own start page (the console, the admin or the form) instead."""
    if request.user.is_authenticated:
        return redirect("signed_in_home")
    return render(request, "home.html")


@sessionless
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, asked for by browsers on pages that name no icon (the API's JSON, the
    embed demo's other site): a temporary redirect to the shield the pages name
    (static/favicon.svg), whose address changes with its content."""
    return redirect(static("favicon.svg"))


def privacy_notice(request: HttpRequest) -> HttpResponse:
    """The privacy notice in the reader's language: who runs this deployment, what KYVS
    processes and why, how long it keeps it, the citizen's rights and where each is used,
    and the grievance officer (DPDP Act 2023, sections 5, 8(10) and 13)."""
    return render(
        request,
        "privacy.html",
        {
            "fiduciary": settings.KYVS_DATA_FIDUCIARY_NAME,
            "officer_name": settings.KYVS_GRIEVANCE_OFFICER_NAME,
            "officer_email": settings.KYVS_GRIEVANCE_OFFICER_EMAIL,
            "officer_phone": settings.KYVS_GRIEVANCE_OFFICER_PHONE,
            "retention_days": settings.KYVS_RETENTION_DAYS,
            "otp_minutes": max(settings.KYVS_OTP_TTL_SECONDS // 60, 1),
        },
    )


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. A database or cache outage is answered as outage_response (logged once,
    as an error); anything else with the 500 page, which needs no request context."""
    exception = sys.exc_info()[1]
    if isinstance(exception, OUTAGES):
        log.error("answered 503: %s is out of reach", type(exception).__name__)
        return outage_response(request)
    return HttpResponseServerError(loader.render_to_string("500.html"))


class LimitsMiddleware:
    """Answers RateLimited and CacheUnavailable raised by a view (kyvs.limits.limit_view)
    with `limit_refused_page`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, RateLimited | CacheUnavailable):
            return limit_refused_page(request, exception)
        return None
