"""The hosted page: the operator's form, the customer's screen, the result. Each view parses
the request, calls one function of verification/services.py and renders or redirects."""

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kyvs.http import client_ip, sessionless
from providers.access import member_required
from providers.models import Scope
from verification import services
from verification.forms import OtpForm, StartForm
from verification.handoff import ResultHandOff, SessionStore, phone_approved_results
from verification.models import Verification
from verification.responses import refusal_page

# The customer may switch the shared screen to their language; the operator's comes back
# with the next customer. It waits in a cookie rather than the session, so that a
# verification does not write the operator's session twice for it (docs/performance.md).
OPERATOR_LANGUAGE_COOKIE = "kyvs_operator_language"


def _verification_of(request: HttpRequest, public_id) -> Verification:
    """Only the operator's own organisation can see a verification; others get a 404."""
    return get_object_or_404(
        Verification.objects.for_organisation(request.organisation).select_related("organisation"),
        public_id=public_id,
    )


def _results(request: HttpRequest) -> ResultHandOff:
    """A confirmed result waits in the operator's session until the result page shows it,
    once, within KYVS_RESULT_PICKUP_SECONDS."""
    return ResultHandOff(SessionStore(request.session), settings.KYVS_RESULT_PICKUP_SECONDS)


@never_cache
@member_required
def start(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation
    restored = _restore_operator_language(request)
    form = StartForm(request.POST or None, purposes=organisation.purpose_choices())
    refused = None
    if request.method == "POST" and form.is_valid():
        try:
            verification = services.start_verification(
                organisation=organisation,
                operator=request.user,
                channel=Verification.Channel.WEB,
                ip=client_ip(request),
                **form.start_arguments(),
            )
        except services.VerificationRefused as refusal:
            refused = refusal
            form.add_error(None, refusal.message)
        else:
            response = redirect("verification:consent", public_id=verification.public_id)
            response.set_cookie(
                OPERATOR_LANGUAGE_COOKIE,
                translation.get_language(),
                # No longer than an idle operator's session: not for the next one.
                max_age=settings.KYVS_OPERATOR_IDLE_MINUTES * 60,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
            )
            # The customer's screen opens in the customer's language, as their SMS is.
            _set_language_cookie(response, form.cleaned_data["language"])
            return response
    context = {
        "form": form,
        "organisation": organisation,
        "recent": organisation.verifications.filter(operator=request.user)[:5],
    }
    if refused:
        response = refusal_page(request, "verification/start.html", context, refused)
    else:
        response = render(request, "verification/start.html", context)
    if OPERATOR_LANGUAGE_COOKIE in request.COOKIES:
        response.delete_cookie(OPERATOR_LANGUAGE_COOKIE, samesite="Lax")
    if restored:
        _set_language_cookie(response, restored)
    return response


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
    )


def _restore_operator_language(request: HttpRequest) -> str | None:
    """The language the operator worked in before the last customer's screen, if the
    customer changed it; it is made current again for this page and kept by the cookie.
    A value that is not one of settings.LANGUAGES is ignored."""
    language = request.COOKIES.get(OPERATOR_LANGUAGE_COOKIE)
    if language not in dict(settings.LANGUAGES) or language == translation.get_language():
        return None
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return language


def _consent_context(verification: Verification, form: OtpForm) -> dict:
    now = timezone.now()
    return {
        "verification": verification,
        "form": form,
        "scopes": [Scope(s).label for s in verification.scopes],
        "resend_wait": verification.seconds_until_resend(now)
        if verification.resends_left
        else None,
        "expires_in": max(int((verification.otp_expires_at - now).total_seconds()), 0),
        "state_url": state_url(verification),
    }


@never_cache
@member_required
def consent(request: HttpRequest, public_id) -> HttpResponse:
    verification = _verification_of(request, public_id)
    if not verification.is_waiting_for_code:
        return render(request, "verification/closed.html", {"verification": verification})
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = services.confirm_verification(verification, form.cleaned_data["otp"])
        if outcome.ok:
            _results(request).hold(outcome.result)
            return redirect("verification:result", public_id=verification.public_id)
        verification.refresh_from_db()
        if not verification.is_waiting_for_code:
            messages.error(request, outcome.message)
            return redirect("verification:consent", public_id=verification.public_id)
        form.add_error("otp", outcome.message)
        return render(
            request,
            "verification/consent.html",
            _consent_context(verification, form),
            status=422,
        )
    return render(request, "verification/consent.html", _consent_context(verification, form))


@require_POST
@member_required
def resend(request: HttpRequest, public_id) -> HttpResponse:
    verification = _verification_of(request, public_id)
    try:
        verification = services.resend_otp(verification)
    except services.VerificationRefused as refused:
        messages.error(request, refused.message)
        if refused.retry_after is not None:
            context = _consent_context(verification, OtpForm())
            return refusal_page(request, "verification/consent.html", context, refused)
    else:
        # A code the gateway refused closes the verification; its page says so.
        if verification.is_waiting_for_code:
            messages.success(
                request, _("A new code has been sent. The earlier code no longer works.")
            )
    return redirect("verification:consent", public_id=verification.public_id)


@require_POST
@member_required
def cancel(request: HttpRequest, public_id) -> HttpResponse:
    verification = _verification_of(request, public_id)
    services.cancel_verification(verification)
    return redirect("verification:start")


@require_POST
@member_required
def decline(request: HttpRequest, public_id) -> HttpResponse:
    """The customer's "Decline" on the shared screen: the same for a match and a no-match."""
    verification = _verification_of(request, public_id)
    services.decline_verification(verification)
    return redirect("verification:consent", public_id=verification.public_id)


# The customer's screen asks every second whether to move on (static js/kyvs.js): the most
# frequent request of a verification (docs/scaling.md). It names its verification by a
# signed token the screen was drawn with, not by the operator's session, so that a poll
# reads no session and no account, only the verification's state.
_STATE_SALT = "kyvs.verification.state"


def state_url(verification: Verification, *, result_url: str = "", consent_url: str = "") -> str:
    """The address the customer's screen polls (`state`): the verification's public id and
    where the screen goes next, signed by django.core.signing with the project's secret key
    and a salt of its own, so that only a screen drawn for the operator's own organisation
    holds it. `result_url` and `consent_url` are those pages' paths for this screen: the
    hosted page's by default; an embed's frame gives its own (verification/embed.py)."""
    public_id = str(verification.public_id)
    screen = {
        "v": public_id,
        "r": result_url or reverse("verification:result", args=[public_id]),
        "c": consent_url or reverse("verification:consent", args=[public_id]),
    }
    token = signing.dumps(screen, salt=_STATE_SALT, compress=True)
    return reverse("verification:state", args=[token])


@sessionless
@never_cache
def state(request: HttpRequest, token: str) -> JsonResponse:
    """Whether the customer's screen should move on, so that an answer given on the
    citizen's own phone shows within a second or two: JSON `{"waiting": bool, "next": url}`,
    `next` the result when verified, else the consent page (which shows how it ended), empty
    while waiting (the pages state_url was given: the hosted page's or an embed frame's).
    One query, no session.

    The token (state_url) is good for KYVS_OPERATOR_IDLE_MINUTES, as long as an idle
    operator's session; an older one sends the screen to its consent page, which draws a new
    one for an operator still signed in and asks anyone else to sign in. A token not made
    here is a 404. Polls do not count as the operator's activity for the idle timeout."""
    try:
        screen = signing.loads(
            token, salt=_STATE_SALT, max_age=settings.KYVS_OPERATOR_IDLE_MINUTES * 60
        )
    except signing.SignatureExpired:
        return _go_to(signing.loads(token, salt=_STATE_SALT)["c"])
    except signing.BadSignature:
        return JsonResponse({"error": "not found"}, status=404)
    current = Verification.objects.state_of(screen["v"])
    if current is None:
        return JsonResponse({"error": "not found"}, status=404)
    if current == Verification.State.OTP_SENT:
        return JsonResponse({"waiting": True, "next": ""})
    return _go_to(screen["r"] if current == Verification.State.VERIFIED else screen["c"])


@sessionless
@never_cache
def state_of_an_older_screen(request: HttpRequest, public_id) -> JsonResponse:
    """The poll of a screen drawn before polls carried a token: it is sent to its consent
    page, which draws it again with one. The same answer for any id, so it tells nothing."""
    return _go_to(reverse("verification:consent", args=[public_id]))


def _go_to(url: str) -> JsonResponse:
    return JsonResponse({"waiting": False, "next": url})


@never_cache
@member_required
def result(request: HttpRequest, public_id) -> HttpResponse:
    """Shown once: the result leaves the session as it is rendered, so going back, reloading
    or opening the address again shows nothing of the customer."""
    verification = _verification_of(request, public_id)
    outcome = _results(request).collect(str(verification.public_id), once=True)
    if outcome is None:
        outcome = phone_approved_results().collect(str(verification.public_id), once=True)
    if outcome is None:
        return render(request, "verification/result_gone.html", status=410)
    return render(
        request,
        "verification/result.html",
        {
            "verification": verification,
            "result": outcome,
            "verified_at": datetime.fromisoformat(outcome.verified_at),
            "clear_after": settings.KYVS_RESULT_DISPLAY_SECONDS,
        },
    )
