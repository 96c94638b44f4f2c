"""The embeddable page: the operator's flow inside a frame on the organisation's own site.

Two ways in, one set of pages:

- **No-code** (`/embed/<organisation>/...`): the organisation pastes an `<iframe>` from its
  console; the operator signs in inside the frame (with the second factor where the
  organisation requires it) and verifies customers there. Framed only by the organisation's
  registered origins.
- **Embed session** (`/embed/s/<token>`, then `/embed/session/<session_id>/...`): the
  organisation's back end made the session through the API (verification/embed_api.py).
  Opening its URL uses it up and binds this frame's own session to it; no sign-in. Framed
  only by the one origin it was made for; when the verification ends the frame tells its
  parent, at that origin only (verification/embed_outcome.py, static/js/embed.js).

Each page is written once, for a `Frame`, and reached through `operator_frame` or
`session_frame`, which say who may act and who may frame the answer. Every page calls the
workflow of verification/services.py with channel EMBED, as the hosted page does; the embed
adds only its layout (templates/embed/) and its framing (kyvs/framing.py).
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kyvs.framing import allow_framing
from kyvs.http import client_ip
from providers.access import checks_two_factor_itself, two_factor_step
from providers.models import Organisation, Purpose, Scope
from verification import services
from verification.embed_outcome import back_end_results, finished_message
from verification.forms import OtpForm, StartForm
from verification.handoff import ResultHandOff, SessionStore, phone_approved_results
from verification.models import EmbedSession, EmbedUrlRefused, Verification
from verification.refusals import VerificationRefused
from verification.responses import refusal_page
from verification.views import state_url

log = logging.getLogger(__name__)

# The embed sessions this frame has opened (their public ids), in its own session.
_OPENED = "kyvs.embed.sessions"
_OPENED_KEPT = 10


@dataclass
class Frame:
    """One frame: the organisation it verifies for, the origins that may frame it, and the
    embed session it belongs to (None for an operator's frame)."""

    organisation: Organisation
    origins: list[str]
    session: EmbedSession | None = None

    def url(self, page: str, verification: Verification | None = None) -> str:
        """The address of `page` (start, consent, state, resend, cancel, decline, result) of
        this frame."""
        if self.session is not None:
            return reverse(f"embed:session_{page}", args=[self.session.public_id])
        args = [self.organisation.public_id]
        if page != "start":
            args.append(verification.public_id)
        return reverse(f"embed:{page}", args=args)


def _results(request: HttpRequest) -> ResultHandOff:
    """As on the hosted page: a result waits in this frame's own session, shown once."""
    return ResultHandOff(SessionStore(request.session), settings.KYVS_RESULT_PICKUP_SECONDS)


# --- what every embed page does ------------------------------------------------------------


def _in_requested_language(request: HttpRequest, response_for):
    """The page in the language of `?lang=` (en, gu, hi), if given, remembered by the
    frame's language cookie for its next pages; the organisation may open the frame in the
    customer's language that way, and the frame's language links use it."""
    language = request.GET.get("lang")
    if language not in dict(settings.LANGUAGES):
        return response_for()
    translation.activate(language)
    request.LANGUAGE_CODE = language
    response = response_for()
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
    )
    return response


def _embed_page(frame_of):
    """A decorator for embed views: `frame_of(request, **kwargs)` gives the Frame (or
    raises Http404) and the view's own arguments; the answer may be framed by the frame's
    origins only, is never cached, and is in the language asked for."""

    def decorator(view):
        @checks_two_factor_itself
        @never_cache
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs):
            frame, arguments = frame_of(request, **kwargs)
            request.embed_frame = frame
            response = _in_requested_language(request, lambda: view(request, **arguments))
            return allow_framing(response, frame.origins)

        return wrapper

    return decorator


def _refused(request: HttpRequest, reason: str, status: int = 403) -> HttpResponse:
    """The frame's page for a frame that cannot go on, saying why (templates/embed/refused.html
    knows each `reason`)."""
    return render(request, "embed/refused.html", {"reason": reason}, status=status)


# --- an operator's frame (no-code) ---------------------------------------------------------


def _organisation_frame(request: HttpRequest, organisation, **kwargs):
    found = get_object_or_404(Organisation, public_id=organisation)
    return Frame(found, found.embed_origins), kwargs


def _sign_in_url(frame: Frame, page: str, next_url: str) -> str:
    url = reverse(f"embed:{page}", args=[frame.organisation.public_id])
    return f"{url}?{urlencode({'next': next_url})}"


def _as_operator(view):
    """The frame's signed-in operator or admin of the frame's organisation, past the second
    factor where they owe one; sets request.membership and request.organisation. Others are
    sent to the frame's own sign-in pages, or told they are signed in for another
    organisation."""

    @wraps(view)
    def wrapper(request: HttpRequest, frame: Frame, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect(_sign_in_url(frame, "sign_in", request.get_full_path()))
        membership = getattr(user, "membership", None)
        if membership is None or membership.organisation_id != frame.organisation.pk:
            return _refused(request, "other_organisation")
        step = two_factor_step(user)
        if step is not None:
            page = "two_factor" if step == "verify" else "two_factor_setup"
            return redirect(_sign_in_url(frame, page, request.get_full_path()))
        request.membership = membership
        request.organisation = membership.organisation
        return view(request, frame, **kwargs)

    return wrapper


def operator_frame(view):
    """An operator's page (no-code): reached as /embed/<organisation>/..., framed by the
    organisation's registered origins, for its signed-in people only. `view` is called with
    the Frame and, where the address names one, the organisation's embed verification."""

    def frame_of(request: HttpRequest, organisation, public_id=None):
        frame, _rest = _organisation_frame(request, organisation)
        verification = None
        if public_id is not None:
            verification = get_object_or_404(
                Verification.objects.for_organisation(frame.organisation)
                .through(Verification.Channel.EMBED)
                .filter(embed_session__isnull=True)
                .select_related("organisation"),
                public_id=public_id,
            )
        return frame, {"frame": frame, "verification": verification}

    return _embed_page(frame_of)(_as_operator(view))


def signing_in(view):
    """A sign-in step inside the frame (the sign-in form, the second factor: the portal's
    own views, given the frame's templates): framed by the organisation's origins, and sent
    on to the frame's form afterwards, never to a portal page that would refuse the frame."""

    def frame_of(request: HttpRequest, organisation, **kwargs):
        return _organisation_frame(request, organisation, **kwargs)

    @wraps(view)
    def staying_in_the_frame(request: HttpRequest, **kwargs):
        frame = request.embed_frame
        start = frame.url("start")
        if not request.GET.get("next", "").startswith(start):
            return redirect(f"{request.path}?{urlencode({'next': start})}")
        if request.user.is_anonymous and request.resolver_match.url_name != "sign_in":
            return redirect(_sign_in_url(frame, "sign_in", request.GET["next"]))
        return view(request, **kwargs)

    return _embed_page(frame_of)(staying_in_the_frame)


@_embed_page(_organisation_frame)
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Enrolling an authenticator app is done on the portal, in a tab of its own: backup
    codes have no place in someone else's page."""
    frame = request.embed_frame
    if request.user.is_anonymous:
        return redirect(_sign_in_url(frame, "sign_in", frame.url("start")))
    return render(request, "embed/two_factor_setup.html")


@require_POST
@_embed_page(_organisation_frame)
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(request.embed_frame.url("start"))


# --- an embed session's frame ---------------------------------------------------------------


@_embed_page(lambda request, token: (_opened_frame(request, token), {"token": token}))
def open_session(request: HttpRequest, token: str) -> HttpResponse:
    """Opening the URL the back end was given: it works once (EmbedSession.open), and binds
    this frame's session to the embed session."""
    refused = getattr(request, "embed_refused", None)
    if refused is not None:
        return _refused(request, refused.reason, status=410 if refused.session else 404)
    session = request.embed_frame.session
    if not session.acts_for_live_key:
        return _refused(request, "inactive")
    opened = [str(session.public_id), *request.session.get(_OPENED, [])]
    request.session[_OPENED] = opened[:_OPENED_KEPT]
    return redirect(request.embed_frame.url("start"))


def _opened_frame(request: HttpRequest, token: str) -> Frame:
    """The frame of the session whose URL carries `token`, opened now; a URL that cannot
    be opened leaves request.embed_refused, and is framed by its session's origin if the
    session is known (to say so inside the frame), by nobody otherwise."""
    try:
        session = EmbedSession.open(token[:100])
    except EmbedUrlRefused as refused:
        request.embed_refused = refused
        session = refused.session
        if session is None:
            return Frame(organisation=None, origins=[])
    return Frame(session.organisation, [session.origin], session)


def session_frame(view):
    """A page of an embed session's frame: framed by the session's origin only, open only
    to the frame that opened its URL, while the key that made it is live and its
    organisation approved. `view` is called with the Frame and the session's verification
    (None until it has one)."""

    def frame_of(request: HttpRequest, session_id):
        session = (
            EmbedSession.objects.select_related("organisation", "api_key", "verification")
            .filter(public_id=session_id)
            .first()
        )
        if session is None:
            raise Http404("No such embed session.")
        frame = Frame(session.organisation, [session.origin], session)
        return frame, {"frame": frame, "verification": session.verification}

    @wraps(view)
    def bound(request: HttpRequest, frame: Frame, verification):
        if str(frame.session.public_id) not in request.session.get(_OPENED, []):
            return _refused(request, "not_opened")
        if not frame.session.acts_for_live_key:
            return _refused(request, "inactive")
        return view(request, frame, verification)

    return _embed_page(frame_of)(bound)


# --- the pages -----------------------------------------------------------------------------


def _start(request: HttpRequest, frame: Frame, verification) -> HttpResponse:
    """The operator's form. An embed session's frame asks for its purpose only (its back
    end chose it) and starts the session's one verification."""
    session = frame.session
    if verification is not None:
        return redirect(frame.url("consent", verification))
    if session is None:
        purposes = frame.organisation.purpose_choices()
        data = request.POST or None
    else:
        purposes = [(session.purpose, Purpose(session.purpose).label)]
        data = request.POST.copy() if request.method == "POST" else None
        if data is not None:
            data["purpose"] = session.purpose
    form = StartForm(data, purposes=purposes)
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            verification = _start_verification(request, frame, form)
        except VerificationRefused as refusal:
            refused = refusal
            form.add_error(None, refusal.message)
        else:
            return redirect(frame.url("consent", verification))
    context = {"form": form, "organisation": frame.organisation, "frame": frame}
    if refused:
        return refusal_page(request, "embed/start.html", context, refused)
    return render(request, "embed/start.html", context)


def _start_verification(request: HttpRequest, frame: Frame, form: StartForm) -> Verification:
    if frame.session is None:
        return services.start_verification(
            organisation=frame.organisation,
            operator=request.user,
            channel=Verification.Channel.EMBED,
            ip=client_ip(request),
            **form.start_arguments(),
        )
    # One verification per session: the row lock makes a double submit start only one.
    with transaction.atomic():
        session = EmbedSession.objects.select_for_update().get(pk=frame.session.pk)
        if session.verification_id is not None:
            return session.verification
        session.verification = services.start_verification(
            organisation=frame.organisation,
            api_key=session.api_key,
            channel=Verification.Channel.EMBED,
            ip=client_ip(request),
            **form.start_arguments(),
        )
        session.save(update_fields=["verification"])
    return session.verification


def _consent_context(frame: Frame, verification: Verification, form: OtpForm) -> dict:
    now = timezone.now()
    return {
        "frame": frame,
        "verification": verification,
        "form": form,
        "scopes": [Scope(s).label for s in verification.scopes],
        "resend_wait": verification.seconds_until_resend(now)
        if verification.resends_left
        else None,
        "resend_url": frame.url("resend", verification),
        "cancel_url": frame.url("cancel", verification),
        "decline_url": frame.url("decline", verification),
        # Polled by a signed token, without the frame's session (verification.views.state).
        "state_url": state_url(
            verification,
            result_url=frame.url("result", verification),
            consent_url=frame.url("consent", verification),
        ),
    }


def _consent(request: HttpRequest, frame: Frame, verification) -> HttpResponse:
    """The citizen's screen; a verification that no longer waits for its code says how it
    ended (and an embed session's frame tells its parent, unless it was verified: the
    result page did)."""
    if verification is None:
        return redirect(frame.url("start"))
    if not verification.is_waiting_for_code:
        return _closed(request, frame, verification)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = services.confirm_verification(verification, form.cleaned_data["otp"])
        if outcome.ok:
            _hold(request, frame, outcome.result)
            return redirect(frame.url("result", verification))
        verification.refresh_from_db()
        if not verification.is_waiting_for_code:
            messages.error(request, outcome.message)
            return redirect(frame.url("consent", verification))
        form.add_error("otp", outcome.message)
        context = _consent_context(frame, verification, form)
        return render(request, "embed/consent.html", context, status=422)
    return render(request, "embed/consent.html", _consent_context(frame, verification, form))


def _hold(request: HttpRequest, frame: Frame, result: services.Result) -> None:
    """The result for this frame's result page and, for an embed session, for its back end
    too. The frame comes first: a back end that cannot have it still learns the outcome."""
    _results(request).hold(result)
    if frame.session is not None:
        try:
            back_end_results().hold(result)
        except VerificationRefused:
            log.error("embed session %s: result not held for the back end", frame.session)


def _message_context(frame: Frame, message: dict | None) -> dict:
    """What templates/embed/base.html needs to post `message` to the frame's parent: the
    message as JSON and the one origin it may go to (the session's)."""
    if message is None:
        return {"message": None}
    return {
        "message": message,
        "message_json": json.dumps(message),
        "message_target": frame.session.origin,
    }


def _closed(request: HttpRequest, frame: Frame, verification: Verification) -> HttpResponse:
    message = None
    if frame.session is not None and verification.state != Verification.State.VERIFIED:
        frame.session.verification = verification
        message = finished_message(frame.session, None)
    return render(
        request,
        "embed/closed.html",
        {"frame": frame, "verification": verification, **_message_context(frame, message)},
    )


def _resend(request: HttpRequest, frame: Frame, verification) -> HttpResponse:
    if verification is None:
        return redirect(frame.url("start"))
    try:
        verification = services.resend_otp(verification)
    except VerificationRefused as refused:
        messages.error(request, refused.message)
        if refused.retry_after is not None:
            context = _consent_context(frame, verification, OtpForm())
            return refusal_page(request, "embed/consent.html", context, refused)
    else:
        if verification.is_waiting_for_code:
            messages.success(
                request, _("A new code has been sent. The earlier code no longer works.")
            )
    return redirect(frame.url("consent", verification))


def _cancel(request: HttpRequest, frame: Frame, verification) -> HttpResponse:
    """An operator's frame goes back to an empty form; an embed session's frame, whose one
    verification this was, says it was cancelled (and tells its parent)."""
    if verification is None:
        return redirect(frame.url("start"))
    services.cancel_verification(verification)
    if frame.session is None:
        return redirect(frame.url("start"))
    return redirect(frame.url("consent", verification))


def _decline(request: HttpRequest, frame: Frame, verification) -> HttpResponse:
    """The customer's "Decline": the verification ends as declined, matched or not; the
    frame says so (and an embed session's tells its parent)."""
    if verification is None:
        return redirect(frame.url("start"))
    services.decline_verification(verification)
    return redirect(frame.url("consent", verification))


def _state(request: HttpRequest, frame: Frame, verification) -> HttpResponse:
    """Whether the citizen's screen in the frame should move on, read through the frame's
    session: what frames drawn before their consent page polled verification.views.state
    (by a signed token, no session) still ask. JSON `{"waiting": bool, "next": url}`,
    `next` empty while waiting."""
    if verification is None or verification.is_waiting_for_code:
        return JsonResponse({"waiting": verification is not None, "next": ""})
    page = "result" if verification.state == Verification.State.VERIFIED else "consent"
    return JsonResponse({"waiting": False, "next": frame.url(page, verification)})


def _result(request: HttpRequest, frame: Frame, verification) -> HttpResponse:
    """Shown once, as on the hosted page, whether the code was typed in the frame or the
    citizen approved on their own phone; an embed session's frame also hands the outcome,
    status and receipt to its parent page."""
    if verification is None:
        return redirect(frame.url("start"))
    outcome = _results(request).collect(str(verification.public_id), once=True)
    if outcome is None:
        outcome = phone_approved_results().collect(str(verification.public_id), once=True)
    if outcome is None:
        return render(request, "embed/result_gone.html", {"frame": frame}, status=410)
    message = None
    if frame.session is not None:
        frame.session.verification = verification
        message = finished_message(frame.session, outcome)
    return render(
        request,
        "embed/result.html",
        {
            "frame": frame,
            "verification": verification,
            "result": outcome,
            "verified_at": datetime.fromisoformat(outcome.verified_at),
            "clear_after": settings.KYVS_RESULT_DISPLAY_SECONDS,
            **_message_context(frame, message),
        },
    )


start = operator_frame(_start)
consent = operator_frame(_consent)
state = operator_frame(_state)
resend = require_POST(operator_frame(_resend))
cancel = require_POST(operator_frame(_cancel))
decline = require_POST(operator_frame(_decline))
result = operator_frame(_result)

session_start = session_frame(_start)
session_consent = session_frame(_consent)
session_state = session_frame(_state)
session_resend = require_POST(session_frame(_resend))
session_cancel = require_POST(session_frame(_cancel))
session_decline = require_POST(session_frame(_decline))
session_result = session_frame(_result)
