"""Embed sessions in the JSON API: an organisation's back end opens a frame for one
verification, with no sign-in in it, and learns how it ended.

POST /api/v3/embed/sessions makes one (EmbedSession) for a registered origin and a purpose,
and, given the customer's name and mobile, starts the verification at once through
services.start_verification (channel EMBED), exactly as generateOTP would: the same input
(verification/inputs.py), refusals, limits and uniform answer for no match. Without them the
frame shows the operator's form. GET /api/v3/embed/sessions/<session_id> answers what the
frame posts to its parent (verification/embed_outcome.py). Both need an API key; a session
is seen only with the key that made it.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from kyvs.api import ApiProblem, invalid_field, string_field
from kyvs.http import client_ip
from providers.models import Purpose
from providers.origins import parse_origin
from verification import services
from verification.api_errors import ERRORS
from verification.embed_outcome import back_end_results, finished_message, outcome_of
from verification.inputs import StartInput
from verification.models import EmbedSession, Verification
from verification.responses import api_endpoint


def _registered_origin(request: HttpRequest, data: dict) -> str:
    """The origin in `data`, in its normal form, if it is one the organisation registered.
    Which origins may be registered (https only; loopback http in DEBUG) was decided when they
    were; here only the form is read, so a registered origin is found however it is written."""
    try:
        origin = parse_origin(string_field(data, "origin"), allow_loopback_http=True)
    except ValidationError as error:
        raise invalid_field(f"origin: {error.messages[0]}") from None
    if origin not in request.organisation.embed_origins:
        raise ApiProblem(ERRORS["origin_not_registered"])
    return origin


def _purpose(data: dict) -> str:
    purpose = string_field(data, "purpose")
    if purpose not in Purpose.values:
        raise invalid_field(f"purpose: must be one of {', '.join(Purpose.values)}.")
    return purpose


def _start(request: HttpRequest, data: dict, purpose: str) -> Verification | None:
    """The verification started for the customer in `data`, or None when the body names no
    customer (then the frame asks the operator)."""
    full_name = string_field(data, "full_name", required=False)
    mobile = string_field(data, "mobile_number", required=False)
    if full_name is None and mobile is None:
        services.check_may_start(request.organisation, api_key=request.api_key, purpose=purpose)
        return None
    start = StartInput(
        {"full_name": full_name, "mobile_number": mobile, "purpose": purpose},
        purposes=Purpose.choices,
    )
    if not start.is_valid():
        raise invalid_field(start.error_summary())
    return services.start_verification(
        organisation=request.organisation,
        api_key=request.api_key,
        channel=Verification.Channel.EMBED,
        ip=client_ip(request),
        **start.start_arguments(),
    )


@api_endpoint("POST", body=True)
def create_session(request: HttpRequest, data: dict) -> JsonResponse:
    origin = _registered_origin(request, data)
    purpose = _purpose(data)
    with transaction.atomic():
        verification = _start(request, data, purpose)
        session, token = EmbedSession.issue(
            api_key=request.api_key, origin=origin, purpose=purpose, verification=verification
        )
    url = request.build_absolute_uri(reverse("embed:open", args=[token]))
    body = {
        "session_id": str(session.public_id),
        "url": url,
        "expires_at": session.expires_at.isoformat(),
    }
    return JsonResponse(body, status=201)


@api_endpoint("GET", body=False)
def session_status(request: HttpRequest, session_id) -> JsonResponse:
    session = (
        EmbedSession.objects.select_related("verification")
        .filter(public_id=session_id, api_key=request.api_key)
        .first()
    )
    if session is None:
        raise ApiProblem(ERRORS["unknown_embed_session"])
    verification = session.verification
    result = None
    if verification is not None and verification.state == Verification.State.VERIFIED:
        result = back_end_results().collect(str(verification.public_id), once=False)
    message = finished_message(session, result) or {}
    return JsonResponse(
        {
            "session_id": str(session.public_id),
            "origin": session.origin,
            "purpose": session.purpose,
            "expires_at": session.expires_at.isoformat(),
            "opened_at": session.opened_at.isoformat() if session.opened_at else None,
            "txnId": str(verification.public_id) if verification else None,
            "outcome": outcome_of(verification),
            "vaccination_status": message.get("vaccination_status"),
            "receipt": message.get("receipt"),
        }
    )
