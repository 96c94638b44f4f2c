"""A refused step as an answer: a page for people, JSON for the API. Both read the same
fields of the refusal (verification/refusals.py): its words, its HTTP status, its wait."""

from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kyvs import limits
from kyvs.api import ApiProblem, api_view, json_body
from providers.access import api_key_required
from verification import services
from verification.refusals import VerificationRefused


def refusal_problem(refused: VerificationRefused) -> ApiProblem:
    """The API's answer: the refusal's error (status and errorCode), its words, and
    Retry-After when it has a wait."""
    return ApiProblem(refused.refusal.api_error, refused.message, refused.retry_after)


def api_endpoint(method: str, *, body: bool):
    """A verification channel's API endpoint: kyvs.api.api_view for `method`, an API key
    (providers.access.api_key_required), the JSON body parsed once when `body` (passed to
    the view as `data`), a VerificationRefused from the domain answered as the API's error
    for it (refusal_problem), and on every answer after the key the RateLimit headers of the
    limit closest to biting (quota_headers)."""

    def decorator(view):
        inner = json_body(view) if body else view

        @wraps(view)
        def answering(request: HttpRequest, *args, **kwargs):
            try:
                response = inner(request, *args, **kwargs)
            except VerificationRefused as refused:
                response = refusal_problem(refused).response()
            except ApiProblem as problem:
                response = problem.response()
            quota_headers(response, request.api_key)
            return response

        return api_view(method)(api_key_required(answering))

    return decorator


def quota_headers(response: HttpResponse, api_key) -> None:
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


def refusal_page(
    request: HttpRequest, template: str, context: dict, refused: VerificationRefused
) -> HttpResponse:
    """`template` (which shows `refused.message` where it belongs) answered with the
    refusal's HTTP status when the same request may succeed later (429, 503: with
    Retry-After, so browsers, proxies and monitoring see it), or 200 when the page is the
    form again, to correct or to leave."""
    status = refused.refusal.http_status
    response = render(request, template, context, status=status if status in (429, 503) else 200)
    if refused.retry_after is not None:
        response["Retry-After"] = str(max(int(refused.retry_after), 1))
    return response
