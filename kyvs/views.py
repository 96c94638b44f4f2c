"""Project-wide answers: a page for a request that a rate limit refused, or that could not
be counted because the cache is down."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kyvs.limits import CacheUnavailable, RateLimited


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
        response = render(request, "503.html", status=503)
    response["Retry-After"] = str(refusal.retry_after)
    return response


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
