"""The citizen's own side: "My status" (a verification of their own, channel `citizen`), and
the share cards they make of it.

My status is a channel like the others (docs/architecture.md): its input is
verification.inputs.PersonInput, its workflow services.start_own_check /
confirm_verification / resend_otp, its refusals verification.responses.refusal_page. What it
adds is the signed-in citizen: after the right code, the session holds which beneficiary it
is, for KYVS_CITIZEN_IDLE_MINUTES without a request, until "Sign out".

Share pages (/s/<token>/) are public and set no cookie: they never touch the session.
"""

from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from kyvs.forms import FocusFirstError
from kyvs.http import client_ip
from verification import services, share_card
from verification.forms import OtpForm
from verification.inputs import PersonInput
from verification.models import (
    Beneficiary,
    CitizenReport,
    CitizenRestriction,
    StatusShare,
    VaccinationStatus,
    Verification,
)
from verification.responses import refusal_page

_CITIZEN = "kyvs.citizen"  # {"beneficiary": pk, "seen": ISO time}
_PENDING = "kyvs.citizen.pending"  # the public id of the check waiting for its code
_LINKS = "kyvs.citizen.links"  # {share public id: token}, shown while signed in
_AFTER_CODE = "kyvs.citizen.after_code"  # what the right code also does ("unlock")


class OwnCheckForm(FocusFirstError, PersonInput):
    """Name and mobile, as the citizen types them about themself."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        name, mobile = self.fields["full_name"], self.fields["mobile_number"]
        name.label = gettext_lazy("Your full name")
        name.help_text = gettext_lazy("As you registered it for vaccination.")
        name.error_messages["required"] = gettext_lazy("Enter your full name.")
        name.widget.attrs.update({"autocomplete": "name", "autofocus": True})
        mobile.label = gettext_lazy("Your registered mobile number")
        mobile.help_text = gettext_lazy("The number you gave when you were vaccinated.")
        mobile.error_messages["required"] = gettext_lazy("Enter your registered mobile number.")
        mobile.widget.attrs.update({"autocomplete": "tel-national"})


def signed_in_citizen(request: HttpRequest) -> Beneficiary | None:
    """The beneficiary this browser signed in as with their own code, if it has made a
    request in the last KYVS_CITIZEN_IDLE_MINUTES; each request starts the wait again."""
    state = request.session.get(_CITIZEN)
    if not state:
        return None
    now = timezone.now()
    idle = (now - datetime.fromisoformat(state["seen"])).total_seconds()
    if idle > settings.KYVS_CITIZEN_IDLE_MINUTES * 60:
        _sign_out(request)
        return None
    state["seen"] = now.isoformat()
    request.session[_CITIZEN] = state
    return Beneficiary.objects.filter(pk=state["beneficiary"]).first()


def _sign_out(request: HttpRequest) -> None:
    for key in (_CITIZEN, _PENDING, _LINKS, _AFTER_CODE):
        request.session.pop(key, None)


def _pending(request: HttpRequest) -> Verification:
    """The check this browser started and that waits for its code; 404 for any other."""
    public_id = request.session.get(_PENDING)
    verification = (
        Verification.objects.through(Verification.Channel.CITIZEN)
        .filter(public_id=public_id)
        .first()
        if public_id
        else None
    )
    if verification is None:
        raise Http404
    return verification


@never_cache
def my_status(request: HttpRequest) -> HttpResponse:
    """Signed in: the status, the doses and the share cards. Otherwise the form that starts
    a check of one's own."""
    citizen = signed_in_citizen(request)
    if citizen is not None:
        return _status_page(request, citizen)
    form = OwnCheckForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            verification = services.start_own_check(
                full_name=form.cleaned_data["full_name"],
                mobile=form.cleaned_data["mobile_number"],
                ip=client_ip(request),
            )
        except services.VerificationRefused as refused:
            form.add_error(None, refused.message)
            return refusal_page(request, "citizen/start.html", {"form": form}, refused)
        request.session[_PENDING] = str(verification.public_id)
        return redirect("citizen:code")
    return render(request, "citizen/start.html", {"form": form})


def _status_page(request: HttpRequest, citizen: Beneficiary) -> HttpResponse:
    first_name = _first_name(citizen)
    return render(
        request,
        "citizen/status.html",
        {
            "record": services.own_record(citizen),
            "shares": citizen.shares.live(),
            "first_name": first_name,
            "can_show_name": bool(first_name) and share_card.can_draw(first_name),
            "languages": settings.LANGUAGES,
            "valid_days": settings.KYVS_SHARE_VALID_DAYS,
            "idle_minutes": settings.KYVS_CITIZEN_IDLE_MINUTES,
        },
    )


def _first_name(citizen: Beneficiary) -> str:
    words = citizen.name.split()
    return words[0] if words else ""


@never_cache
def code(request: HttpRequest) -> HttpResponse:
    """Type the code sent to one's own mobile. The same screens whether or not anyone
    matched: with nobody, no code was sent and every code fails."""
    verification = _pending(request)
    if not verification.is_waiting_for_code:
        request.session.pop(_PENDING, None)
        return render(request, "citizen/closed.html", {"verification": verification})
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = services.confirm_verification(verification, form.cleaned_data["otp"])
        if outcome.ok:
            request.session.cycle_key()  # a privilege change: a new session id
            request.session[_CITIZEN] = {
                "beneficiary": verification.beneficiary_id,
                "seen": timezone.now().isoformat(),
            }
            request.session.pop(_PENDING, None)
            if request.session.pop(_AFTER_CODE, None) == "unlock":
                CitizenRestriction.objects.filter(
                    beneficiary_id=verification.beneficiary_id, organisation=None
                ).delete()
                messages.success(request, _("Your status is unlocked."))
                return redirect("citizen:history")
            return redirect("citizen:my_status")
        verification.refresh_from_db()
        if not verification.is_waiting_for_code:
            messages.error(request, outcome.message)
            return redirect("citizen:code")
        form.add_error("otp", outcome.message)
        context = _code_page_context(request, verification, form)
        return render(request, "citizen/code.html", context, status=422)
    return render(request, "citizen/code.html", _code_page_context(request, verification, form))


def _code_context(verification: Verification, form: OtpForm) -> dict:
    now = timezone.now()
    return {
        "verification": verification,
        "form": form,
        "resend_wait": verification.seconds_until_resend(now)
        if verification.resends_left
        else None,
    }


def _code_page_context(request: HttpRequest, verification: Verification, form) -> dict:
    return {**_code_context(verification, form), "unlocking": request.session.get(_AFTER_CODE)}


@require_POST
def resend(request: HttpRequest) -> HttpResponse:
    verification = _pending(request)
    try:
        verification = services.resend_otp(verification)
    except services.VerificationRefused as refused:
        messages.error(request, refused.message)
        if refused.retry_after is not None:
            context = _code_context(verification, OtpForm())
            return refusal_page(request, "citizen/code.html", context, refused)
    else:
        if verification.is_waiting_for_code:
            messages.success(
                request, _("A new code has been sent. The earlier code no longer works.")
            )
    return redirect("citizen:code")


@require_POST
def start_again(request: HttpRequest) -> HttpResponse:
    """Leave the check waiting for its code (its code stops working) and start afresh."""
    public_id = request.session.pop(_PENDING, None)
    if public_id:
        verification = Verification.objects.filter(public_id=public_id).first()
        if verification is not None:
            services.cancel_verification(verification)
    return redirect("citizen:my_status")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    _sign_out(request)
    messages.success(request, _("You have signed out of My status."))
    return redirect("citizen:my_status")


@require_POST
def make_share(request: HttpRequest) -> HttpResponse:
    """A share card of the status as it is now, in the language chosen, with the first name
    only if the citizen ticked it."""
    citizen = signed_in_citizen(request)
    if citizen is None:
        return redirect("citizen:my_status")
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        messages.error(request, _("Choose the language of the card."))
        return redirect("citizen:my_status")
    first_name = _first_name(citizen) if request.POST.get("show_first_name") == "on" else ""
    if first_name and not share_card.can_draw(first_name):
        first_name = ""
    share, token = StatusShare.issue(citizen, language=language, first_name=first_name)
    links = request.session.get(_LINKS, {})
    links[str(share.public_id)] = token
    request.session[_LINKS] = links
    return redirect("citizen:share", public_id=share.public_id)


@never_cache
@require_GET
def share(request: HttpRequest, public_id) -> HttpResponse:
    """The citizen's own view of one of their shares: the card, the link and the buttons
    to share it, and "Delete this share". Another citizen's share is a 404."""
    citizen = signed_in_citizen(request)
    if citizen is None:
        return redirect("citizen:my_status")
    item = citizen.shares.live().filter(public_id=public_id).first()
    if item is None:
        raise Http404
    token = request.session.get(_LINKS, {}).get(str(item.public_id))
    link = request.build_absolute_uri(reverse("share_page", args=[token])) if token else ""
    with translation.override(item.language):
        sentence = share_sentence(item)
    return render(
        request,
        "citizen/share.html",
        {"share": item, "token": token, "link": link, "sentence": sentence},
    )


@require_POST
def delete_share(request: HttpRequest, public_id) -> HttpResponse:
    citizen = signed_in_citizen(request)
    if citizen is None:
        return redirect("citizen:my_status")
    item = citizen.shares.filter(public_id=public_id).first()
    if item is None:
        raise Http404
    item.delete_share()
    request.session.get(_LINKS, {}).pop(str(item.public_id), None)
    request.session.modified = True
    messages.success(request, _("The share is deleted: its link and its pictures are gone."))
    return redirect("citizen:my_status")


def share_sentence(item: StatusShare) -> str:
    """The plain sentence a stranger can trust: the status, when KYVS checked it, and until
    when the link works, in the active language."""
    return _(
        "KYVS checked this person's vaccination status on %(checked)s: %(status)s. "
        "This link works until %(until)s."
    ) % {
        "checked": date_format(timezone.localtime(item.checked_at), "j F Y"),
        "status": VaccinationStatus(item.status).label,
        "until": date_format(timezone.localtime(item.expires_at), "j F Y"),
    }


HISTORY_PAGE_SIZE = 20


@never_cache
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """Who checked me: every check by an organisation that matched this citizen, newest
    first (starts that matched nobody are nobody's history), with how it ended and what was
    shown. Only the signed-in citizen's own rows."""
    citizen = signed_in_citizen(request)
    if citizen is None:
        return redirect("citizen:my_status")
    rows = (
        Verification.objects.filter(beneficiary=citizen)
        .exclude(channel=Verification.Channel.CITIZEN)
        .select_related("organisation")
        .order_by("-created_at")
    )
    page = Paginator(rows, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    blocked = set(
        citizen.restrictions.exclude(organisation=None).values_list("organisation_id", flat=True)
    )
    reported = set(
        CitizenReport.objects.filter(verification__beneficiary=citizen).values_list(
            "verification_id", flat=True
        )
    )
    now = timezone.now()
    entries = [
        {
            "verification": v,
            "outcome": v.outcome_for_citizen(now),
            "shared": v.shared_level() if v.state == Verification.State.VERIFIED else "",
            "blocked": v.organisation_id in blocked,
            "reported": v.pk in reported,
        }
        for v in page
    ]
    return render(
        request,
        "citizen/history.html",
        {
            "page": page,
            "entries": entries,
            "locked": citizen.restrictions.filter(organisation=None).exists(),
        },
    )


@require_POST
def lock(request: HttpRequest) -> HttpResponse:
    """Lock my status: from now on every organisation's start for me, on any channel, is
    answered as if nobody matched, sends nothing, and shows here as blocked."""
    citizen = signed_in_citizen(request)
    if citizen is None:
        return redirect("citizen:my_status")
    CitizenRestriction.objects.get_or_create(beneficiary=citizen, organisation=None)
    messages.success(
        request, _("Your status is locked. No organisation can check it until you unlock it.")
    )
    return redirect("citizen:history")


@require_POST
def unlock(request: HttpRequest) -> HttpResponse:
    """Unlocking needs a fresh code: one is sent to the registered mobile, and the lock goes
    when it is typed."""
    citizen = signed_in_citizen(request)
    if citizen is None:
        return redirect("citizen:my_status")
    try:
        verification = services.start_own_check(
            full_name=citizen.name, mobile=citizen.mobile, ip=client_ip(request)
        )
    except services.VerificationRefused as refused:
        messages.error(request, refused.message)
        return redirect("citizen:history")
    request.session[_PENDING] = str(verification.public_id)
    request.session[_AFTER_CODE] = "unlock"
    return redirect("citizen:code")


@require_POST
def block(request: HttpRequest, organisation_id) -> HttpResponse:
    """Block one organisation, from a row of the history: its starts for this citizen are
    answered as if nobody matched, as with the lock, for it alone. 404 for an organisation
    that never checked this citizen."""
    citizen = signed_in_citizen(request)
    if citizen is None:
        return redirect("citizen:my_status")
    organisation = _organisation_that_checked(citizen, organisation_id)
    CitizenRestriction.objects.get_or_create(beneficiary=citizen, organisation=organisation)
    messages.success(
        request,
        _("%(organisation)s can no longer check your status.")
        % {"organisation": organisation.name},
    )
    return redirect("citizen:history")


@require_POST
def unblock(request: HttpRequest, organisation_id) -> HttpResponse:
    """Lift a block: the organisation may ask again (the citizen still has to agree each
    time)."""
    citizen = signed_in_citizen(request)
    if citizen is None:
        return redirect("citizen:my_status")
    organisation = _organisation_that_checked(citizen, organisation_id)
    CitizenRestriction.objects.filter(beneficiary=citizen, organisation=organisation).delete()
    messages.success(
        request,
        _("%(organisation)s may ask to check your status again.")
        % {"organisation": organisation.name},
    )
    return redirect("citizen:history")


def _organisation_that_checked(citizen: Beneficiary, organisation_id):
    """Only an organisation that checked this citizen can be blocked from their history."""
    check = (
        Verification.objects.filter(beneficiary=citizen, organisation__public_id=organisation_id)
        .select_related("organisation")
        .first()
    )
    if check is None:
        raise Http404
    return check.organisation


class ReportForm(FocusFirstError, forms.Form):
    """A report of a check the citizen did not agree to: an optional line, at most 500
    characters."""

    text = forms.CharField(
        label=gettext_lazy("What happened (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@never_cache
def report(request: HttpRequest, public_id) -> HttpResponse:
    """Report a check I did not agree to: one tap and an optional line. It goes to the
    registry admin's queue; the organisation is never told who reported."""
    citizen = signed_in_citizen(request)
    if citizen is None:
        return redirect("citizen:my_status")
    verification = (
        Verification.objects.filter(beneficiary=citizen, public_id=public_id)
        .exclude(channel=Verification.Channel.CITIZEN)
        .select_related("organisation")
        .first()
    )
    if verification is None:
        raise Http404
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        CitizenReport.objects.get_or_create(
            verification=verification,
            defaults={
                "organisation": verification.organisation,
                "text": form.cleaned_data["text"].strip(),
            },
        )
        messages.success(
            request,
            _(
                "Thank you. The registry will look into it; the organisation is not told who "
                "reported."
            ),
        )
        return redirect("citizen:history")
    return render(request, "citizen/report.html", {"verification": verification, "form": form})
