from django.contrib import admin

from kyvs.audit import AuditedModelAdmin
from kyvs.mobile import normalise_mobile
from verification import registry
from verification.models import (
    Beneficiary,
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
