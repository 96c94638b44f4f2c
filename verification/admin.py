from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from kyvs.admin_forms import LabelledInlineFormSet
from kyvs.audit import AuditedModelAdmin
from kyvs.mobile import normalise_mobile
from providers.models import DecisionRefused
from verification import registry
from verification.models import (
    Beneficiary,
    CitizenReport,
    CitizenRestriction,
    Dose,
    EmbedSession,
    StatusShare,
    Vaccine,
    Verification,
)


@admin.register(Vaccine)
class VaccineAdmin(AuditedModelAdmin):
    list_display = ["name", "primary_doses_required"]
    search_fields = ["name"]


class DoseInline(admin.TabularInline):
    formset = LabelledInlineFormSet
    model = Dose
    extra = 0


@admin.register(Beneficiary)
class BeneficiaryAdmin(AuditedModelAdmin):
    list_display = ["reference_id", "name", "birth_year", "gender"]
    list_filter = ["gender"]
    # Exact lookups only: a registry of millions is searched by id or mobile, not by prefix.
    search_fields = ["=reference_id", "=mobile"]
    readonly_fields = ["name_normalised"]
    inlines = [DoseInline]

    def get_search_results(self, request, queryset, search_term):
        """A reference id or mobile is searched for in its one stored form, however it was
        typed (digits of any script, +91, spaces, pasted marks)."""
        for parse in (registry.parse_reference_id, normalise_mobile):
            try:
                search_term = parse(search_term)
                break
            except ValueError:
                continue
        return super().get_search_results(request, queryset, search_term)


@admin.register(Dose)
class DoseAdmin(AuditedModelAdmin):
    list_display = ["beneficiary", "vaccine", "kind", "dose_number", "date", "district", "state"]
    list_filter = ["vaccine", "kind", "state"]
    search_fields = ["=beneficiary__reference_id"]
    raw_id_fields = ["beneficiary"]


class ReadOnlyAdmin(AuditedModelAdmin):
    """Nobody, superusers included, may add, edit or delete these rows here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Verification)
class VerificationAdmin(ReadOnlyAdmin):
    """The audit trail: read-only, and never shows a code or its hash."""

    list_display = [
        "public_id",
        "organisation",
        "operator",
        "channel",
        "purpose",
        "state",
        "created_at",
    ]
    list_filter = ["state", "channel", "purpose", "organisation"]
    search_fields = ["=public_id", "organisation__name", "operator__username"]
    date_hierarchy = "created_at"
    exclude = ["otp_hash", "beneficiary"]
    list_select_related = ["organisation", "operator"]
    # Old rows leave only through `manage.py prune_verifications`, under the retention rule.


@admin.register(EmbedSession)
class EmbedSessionAdmin(ReadOnlyAdmin):
    """Embed sessions, for the audit: read-only, and never the token's digest."""

    list_display = ["public_id", "organisation", "api_key", "origin", "purpose", "created_at"]
    list_filter = ["purpose", "organisation"]
    search_fields = ["=public_id", "organisation__name", "origin"]
    date_hierarchy = "created_at"
    exclude = ["token_digest"]
    list_select_related = ["organisation", "api_key"]


@admin.register(StatusShare)
class StatusShareAdmin(ReadOnlyAdmin):
    """The citizens' share cards: when made, until when, whether deleted. Never the token's
    digest (the link is the citizen's alone) nor the first name."""

    list_display = ["public_id", "status", "language", "created_at", "expires_at", "deleted_at"]
    list_filter = ["status", "language"]
    search_fields = ["=public_id"]
    fields = ["public_id", "status", "language", "checked_at", "created_at", "expires_at"]
    readonly_fields = fields


@admin.register(CitizenRestriction)
class CitizenRestrictionAdmin(ReadOnlyAdmin):
    """Citizens' locks and blocks: theirs to make and undo, in My status; seen here only."""

    list_display = ["beneficiary", "organisation", "created_at"]
    list_select_related = ["beneficiary", "organisation"]
    search_fields = ["=beneficiary__reference_id", "organisation__name"]


def _with_recent_reports(reports):
    """`reports`, each with `recent_reports`: how many reports its organisation has had in
    the last RECENT_REPORT_DAYS, counted in the same query (a subquery per row of the
    database's, not a query per row of ours)."""
    since = timezone.now() - timedelta(days=RECENT_REPORT_DAYS)
    recent = (
        CitizenReport.objects.filter(organisation=OuterRef("organisation"), created_at__gte=since)
        .order_by()
        .values("organisation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return reports.annotate(recent_reports=Coalesce(Subquery(recent), 0))


RECENT_REPORT_DAYS = 30


@admin.register(CitizenReport)
class CitizenReportAdmin(ReadOnlyAdmin):
    """Reports from citizens: checks they say they did not agree to, oldest first. One
    action suspends the organisation through its recorded decision
    (Organisation.suspend); the organisation is told the reason, never who reported."""

    list_display = [
        "created_at",
        "organisation",
        "verification_link",
        "reports_in_30_days",
        "text",
        "handled_at",
    ]
    list_filter = [("handled_at", admin.EmptyFieldListFilter)]
    list_select_related = ["organisation", "verification"]
    ordering = ["created_at"]
    actions = ["suspend_organisations", "mark_handled"]
    fields = ["created_at", "organisation", "verification_link", "text", "handled_at"]
    readonly_fields = fields

    @admin.display(description=_("verification"))
    def verification_link(self, report):
        url = reverse("admin:verification_verification_change", args=[report.verification_id])
        return format_html('<a href="{}">{}</a>', url, report.verification.public_id)

    def get_queryset(self, request):
        return _with_recent_reports(super().get_queryset(request))

    @admin.display(description=_("reports about it in 30 days"))
    def reports_in_30_days(self, report):
        return report.recent_reports

    def has_change_permission(self, request, obj=None):
        # The actions below change reports; the form never does (every field is read-only).
        return request.user.is_staff

    @admin.action(description=_("Suspend the organisations reported (a recorded decision)"))
    def suspend_organisations(self, request, queryset):
        reason = str(
            _(
                "Citizens reported checks of their status that they did not agree to. The "
                "registry has suspended the account while it looks into them."
            )
        )
        done = 0
        for organisation in {report.organisation for report in queryset}:
            try:
                organisation.suspend(request.user, reason)
            except DecisionRefused as refusal:
                self.message_user(request, refusal.message, messages.WARNING)
                continue
            self.record(request, organisation, "Suspended after reports from citizens")
            done += 1
        queryset.filter(handled_at=None).update(handled_at=timezone.now())
        if done:
            self.message_user(
                request,
                _("%(n)d organisation(s) suspended; each has been e-mailed.") % {"n": done},
                messages.SUCCESS,
            )

    @admin.action(description=_("Mark as handled"))
    def mark_handled(self, request, queryset):
        for report in queryset.filter(handled_at=None):
            report.handled_at = timezone.now()
            report.save(update_fields=["handled_at"])
            self.record(request, report, "Marked handled")
