import csv
from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from providers import charts, emails
from providers.access import admin_required
from providers.forms import HistoryFilterForm, InviteForm, RoleForm
from providers.models import Membership, Purpose, Scope
from providers.views import undo
from verification.models import Verification

CHART_DAYS = 30
HISTORY_PAGE_SIZE = 50
OUTCOMES = [
    charts.Series(Verification.State.VERIFIED, _("verified"), "#1a7f37"),
    charts.Series(Verification.State.FAILED, _("failed"), "#b42318"),
    charts.Series(Verification.State.CANCELLED, _("cancelled"), "#8a94a3"),
    charts.Series(Verification.State.OTP_SENT, _("waiting for the code"), "#d4a72c"),
]


def _chart(organisation):
    today = timezone.localdate()
    first = today - timedelta(days=CHART_DAYS - 1)
    start = timezone.make_aware(datetime.combine(first, time.min))
    rows = (
        Verification.objects.filter(organisation=organisation, created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("day", "state")
        .annotate(n=Count("id"))
    )
    counts: dict = {}
    for row in rows:
        counts.setdefault(row["day"], {})[row["state"]] = row["n"]
    series = [
        charts.Series(s.key, str(Verification.State(s.key).label), s.colour) for s in OUTCOMES
    ]
    totals = {s.key: sum(day.get(s.key, 0) for day in counts.values()) for s in series}
    drawings = [
        charts.stacked_bars_per_day(counts, series, first, today, name="wide"),
        # For a phone: the same 30 days in a drawing about as wide as its screen.
        charts.stacked_bars_per_day(
            counts, series, first, today, name="narrow", width=340, height=220, font_size=12
        ),
    ]
    # The numbers behind the drawing, newest day first, days with none left out.
    table = [
        (day, [counts[day].get(s.key, 0) for s in series]) for day in sorted(counts, reverse=True)
    ]
    return drawings, series, totals, table


@never_cache
@admin_required
def overview(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation
    charts_drawn, series, totals, chart_table = _chart(organisation)
    return render(
        request,
        "providers/console.html",
        {
            "organisation": organisation,
            "scopes": [Scope(s).label for s in organisation.granted_scopes()],
            "purposes": [Purpose(p).label for p in organisation.purposes],
            "used_today": organisation.started_today(),
            "members": organisation.memberships.select_related("user").order_by(
                "-user__is_active", "role", "user__username"
            ),
            "invite_form": InviteForm(organisation=organisation),
            "roles": Membership.Role.choices,
            "charts": charts_drawn,
            "chart_table": chart_table,
            "series": [(s, totals[s.key]) for s in series],
            "decisions": organisation.decisions.all()[:5],
            "section": "overview",
            "undo": undo.current(request),
        },
    )


@never_cache
@admin_required
def invite(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation
    form = InviteForm(request.POST or None, organisation=organisation)
    if request.method == "POST":
        if not organisation.is_approved:
            messages.error(request, _("Operators can be invited once the registry approves you."))
            return redirect("providers:console")
        if form.is_valid():
            membership = organisation.invite(
                form.cleaned_data["email"], form.cleaned_data["role"], invited_by=request.user
            )
            emails.send_invitation(membership, request.build_absolute_uri("/"))
            messages.success(
                request,
                _("Invitation sent to %(email)s.") % {"email": membership.user.email},
            )
            return redirect("providers:console")
    return render(
        request,
        "providers/console_invite.html",
        {"organisation": organisation, "form": form, "section": "overview"},
        status=422 if form.errors else 200,
    )


def _member_of(request: HttpRequest, public_id) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"),
        public_id=public_id,
        organisation=request.organisation,
    )


@require_POST
@admin_required
def change_role(request: HttpRequest, public_id) -> HttpResponse:
    membership = _member_of(request, public_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
    elif membership.user_id == request.user.pk:
        messages.error(request, _("You cannot change your own role."))
    else:
        membership.role = form.cleaned_data["role"]
        membership.save(update_fields=["role"])
        messages.success(
            request,
            _("%(user)s is now: %(role)s.")
            % {"user": membership.user.get_username(), "role": membership.get_role_display()},
        )
    return redirect("providers:console")


@never_cache
@require_http_methods(["GET", "POST"])
@admin_required
def deactivate(request: HttpRequest, public_id) -> HttpResponse:
    """GET asks to confirm; POST deactivates and offers an Undo (providers/views/undo.py)."""
    membership = _member_of(request, public_id)
    if membership.user_id == request.user.pk:
        messages.error(request, _("You cannot deactivate your own account."))
        return redirect("providers:console")
    if not membership.user.is_active:
        return redirect("providers:console")
    name = membership.user.get_username()
    if request.method == "GET":
        return render(
            request,
            "providers/console_confirm.html",
            {
                "organisation": request.organisation,
                "section": "overview",
                "title": _("Deactivate %(user)s?") % {"user": name},
                "explanation": _(
                    "%(user)s will be signed out everywhere at once and will not be able to "
                    "sign in. You can undo this for a few minutes; after that, invite them "
                    "again to give them back their access."
                )
                % {"user": name},
                "confirm": _("Deactivate %(user)s") % {"user": name},
                "cancel_url": reverse("providers:console"),
            },
        )
    membership.deactivate()
    messages.success(
        request,
        _("%(user)s can no longer sign in, and has been signed out everywhere.") % {"user": name},
    )
    undo.offer(
        request,
        reverse("providers:reactivate", args=[membership.public_id]),
        _("Undo: let %(user)s sign in again") % {"user": name},
    )
    return redirect("providers:console")


@require_POST
@admin_required
def reactivate(request: HttpRequest, public_id) -> HttpResponse:
    """The Undo of `deactivate`, only as offered (providers/views/undo.py)."""
    membership = _member_of(request, public_id)
    if not undo.redeem(request):
        messages.error(request, _("This can no longer be undone. Invite them again instead."))
        return redirect("providers:console")
    membership.reactivate()
    messages.success(
        request,
        _("%(user)s can sign in again.") % {"user": membership.user.get_username()},
    )
    return redirect("providers:console")


@require_POST
@admin_required
def security(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation
    organisation.require_operator_two_factor = request.POST.get("require") == "on"
    organisation.save(update_fields=["require_operator_two_factor"])
    if organisation.require_operator_two_factor:
        messages.success(request, _("Operators must now sign in with two factors."))
    else:
        messages.success(request, _("Operators no longer need a second factor."))
    return redirect("providers:console")


def _filtered_history(request: HttpRequest):
    """(the filter form, the rows it selects); no rows (None) while the filter has errors,
    so that a mistyped date is said, never answered with an empty or unfiltered list."""
    organisation = request.organisation
    form = HistoryFilterForm(
        request.GET or None,
        organisation=organisation,
        outcomes=Verification.State.choices,
    )
    rows = Verification.objects.filter(organisation=organisation).select_related(
        "operator", "api_key"
    )
    if form.is_valid():
        data = form.cleaned_data
        if data["date_from"]:
            rows = rows.filter(
                created_at__gte=timezone.make_aware(datetime.combine(data["date_from"], time.min))
            )
        if data["date_to"]:
            end = datetime.combine(data["date_to"] + timedelta(days=1), time.min)
            rows = rows.filter(created_at__lt=timezone.make_aware(end))
        if data["operator"]:
            rows = rows.filter(operator__membership__public_id=data["operator"])
        if data["outcome"]:
            rows = rows.filter(state=data["outcome"])
    elif form.is_bound:
        return form, None
    return form, rows.order_by("-created_at")


@never_cache
@admin_required
def history(request: HttpRequest) -> HttpResponse:
    """Only the audit columns: who asked, when, how, why and how it ended. Never a result."""
    form, rows = _filtered_history(request)
    page = None
    if rows is not None:
        page = Paginator(rows, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "providers/console_history.html",
        {
            "organisation": request.organisation,
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "section": "history",
        },
        status=422 if rows is None else 200,
    )


@never_cache
@admin_required
def history_csv(request: HttpRequest) -> HttpResponse:
    """The filtered history as CSV for a spreadsheet, in the page's language: its headings
    and the channel, purpose and outcome in words. UTF-8 with a byte order mark, without
    which Excel reads the file in the computer's legacy code page and shows Gujarati and
    Hindi as mojibake. A filter with errors leads back to the page that shows them."""
    _form, rows = _filtered_history(request)
    if rows is None:
        return redirect(f"{reverse('providers:history')}?{request.GET.urlencode()}")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="kyvs-verifications-{stamp}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Verification id"),
            _("Started"),
            _("Operator"),
            _("API key"),
            _("Channel"),
            _("Purpose"),
            _("Outcome"),
            _("Finished"),
        ]
    )
    for v in rows.iterator(chunk_size=500):
        writer.writerow(
            [
                v.public_id,
                timezone.localtime(v.created_at).isoformat(timespec="seconds"),
                _safe_cell(v.operator.get_username() if v.operator else ""),
                _safe_cell(v.api_key.prefix if v.api_key else ""),
                v.get_channel_display(),
                v.get_purpose_display(),
                v.get_state_display(),
                timezone.localtime(v.finished_at).isoformat(timespec="seconds")
                if v.finished_at
                else "",
            ]
        )
    return response


def _safe_cell(value: str) -> str:
    """Keep a spreadsheet from reading a cell as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
