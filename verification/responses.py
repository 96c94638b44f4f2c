"""A refused step as an answer: a page for people, JSON for the API. Both read the same
fields of the refusal (verification/refusals.py): its words, its HTTP status, its wait."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kyvs.api import ApiProblem
from verification.refusals import VerificationRefused


def refusal_problem(refused: VerificationRefused) -> ApiProblem:
    """The API's answer: the refusal's error (status and errorCode), its words, and
    Retry-After when it has a wait."""
    return ApiProblem(refused.refusal.api_error, refused.message, refused.retry_after)


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
