from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kyvs.http import client_ip
from providers.access import member_required
from providers.models import Scope
from verification import services
from verification.forms import OtpForm, StartForm
from verification.models import Verification

_RESULT_KEY = "kyvs.result.{}"
# The customer may switch the shared screen to their language; the operator's comes back
# with the next customer.
_OPERATOR_LANGUAGE = "kyvs.operator_language"

# Refusals that are about load rather than the request: the page says when to try again.
_REFUSAL_STATUS = {"rate_limited": 429, "unavailable": 503}


def _with_retry_after(response: HttpResponse, refusal) -> HttpResponse:
    if refusal.retry_after:
        response["Retry-After"] = str(refusal.retry_after)
    return response


def _verification_of(request: HttpRequest, public_id) -> Verification:
    """Only the operator's own organisation can see a verification; others get a 404."""
    return get_object_or_404(
        Verification.objects.select_related("organisation"),
        public_id=public_id,
        organisation=request.organisation,
    )


@never_cache
@member_required
def start(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation
    restored = _restore_operator_language(request)
    form = StartForm(request.POST or None, purposes=organisation.purpose_choices())
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            verification = services.start_verification(
                organisation=organisation,
                operator=request.user,
                full_name=form.cleaned_data["full_name"],
                mobile=form.cleaned_data["mobile_number"],
                purpose=form.cleaned_data["purpose"],
                channel=Verification.Channel.WEB,
                ip=client_ip(request),
            )
        except services.VerificationRefused as refused:
            refusal = refused
            form.add_error(None, refusal.message)
        else:
            request.session[_OPERATOR_LANGUAGE] = translation.get_language()
            return redirect("verification:consent", public_id=verification.public_id)
    recent = organisation.verifications.filter(operator=request.user)[:5]
    response = render(
        request,
        "verification/start.html",
        {"form": form, "organisation": organisation, "recent": recent},
        status=_REFUSAL_STATUS.get(refusal.code, 200) if refusal else 200,
    )
    if restored:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            restored,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        )
    return _with_retry_after(response, refusal) if refusal else response


def _restore_operator_language(request: HttpRequest) -> str | None:
    """The language the operator worked in before the last customer's screen, if the
    customer changed it; it is made current again for this page and kept by the cookie."""
    language = request.session.pop(_OPERATOR_LANGUAGE, None)
    if not language or language == translation.get_language():
        return None
    translation.activate(language)
    request.LANGUAGE_CODE = language
    return language


def _consent_page(request, verification, form, status=200) -> HttpResponse:
    now = timezone.now()
    wait = max(int((verification.resend_available_at() - now).total_seconds()) + 1, 0)
    scopes = [Scope(s).label for s in verification.scopes]
    return render(
        request,
        "verification/consent.html",
        {
            "verification": verification,
            "form": form,
            "scopes": scopes,
            "resend_wait": wait if verification.resends_left else None,
            "expires_in": max(int((verification.otp_expires_at - now).total_seconds()), 0),
        },
        status=status,
    )


@never_cache
@member_required
def consent(request: HttpRequest, public_id) -> HttpResponse:
    verification = _verification_of(request, public_id)
    if verification.state != Verification.State.OTP_SENT:
        return render(request, "verification/closed.html", {"verification": verification})
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = services.confirm_verification(verification, form.cleaned_data["otp"])
        if outcome.ok:
            request.session[_RESULT_KEY.format(verification.public_id)] = {
                "stored_at": timezone.now().isoformat(),
                "result": outcome.result.as_dict(),
            }
            return redirect("verification:result", public_id=verification.public_id)
        verification.refresh_from_db()
        if verification.state != Verification.State.OTP_SENT:
            messages.error(request, outcome.message)
            return redirect("verification:consent", public_id=verification.public_id)
        form.add_error("otp", outcome.message)
        return _consent_page(request, verification, form, status=422)
    return _consent_page(request, verification, form)


@require_POST
@member_required
def resend(request: HttpRequest, public_id) -> HttpResponse:
    verification = _verification_of(request, public_id)
    try:
        verification = services.resend_otp(verification)
    except services.VerificationRefused as refusal:
        messages.error(request, refusal.message)
        if refusal.code in _REFUSAL_STATUS:
            response = _consent_page(
                request, verification, OtpForm(), status=_REFUSAL_STATUS[refusal.code]
            )
            return _with_retry_after(response, refusal)
    else:
        # A code the gateway refused closes the verification; its page says so.
        if verification.state == Verification.State.OTP_SENT:
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


@never_cache
@member_required
def result(request: HttpRequest, public_id) -> HttpResponse:
    """Shown once: the result leaves the session as it is rendered, so going back, reloading
    or opening the address again shows nothing of the customer."""
    verification = _verification_of(request, public_id)
    stored = request.session.pop(_RESULT_KEY.format(verification.public_id), None)
    fresh = (
        stored is not None
        and (timezone.now() - datetime.fromisoformat(stored["stored_at"])).total_seconds()
        <= settings.KYVS_RESULT_PICKUP_SECONDS
    )
    if not fresh:
        return render(request, "verification/result_gone.html", status=410)
    outcome = services.Result(**stored["result"])
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
