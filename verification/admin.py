from django.contrib import admin

from kyvs.admin_forms import LabelledInlineFormSet
from kyvs.mobile import normalise_mobile
from verification import registry
from verification.models import Beneficiary, Dose, Vaccine, Verification


@admin.register(Vaccine)
class VaccineAdmin(admin.ModelAdmin):
    list_display = ["name", "primary_doses_required"]
    search_fields = ["name"]


class DoseInline(admin.TabularInline):
    formset = LabelledInlineFormSet
    model = Dose
    extra = 0


@admin.register(Beneficiary)
class BeneficiaryAdmin(admin.ModelAdmin):
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
class DoseAdmin(admin.ModelAdmin):
    list_display = ["beneficiary", "vaccine", "kind", "dose_number", "date", "district", "state"]
    list_filter = ["vaccine", "kind", "state"]
    search_fields = ["=beneficiary__reference_id"]
    raw_id_fields = ["beneficiary"]


@admin.register(Verification)
class VerificationAdmin(admin.ModelAdmin):
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

    # Nobody, superusers included, may add, edit or delete an audit row here. Old rows
    # leave only through `manage.py prune_verifications`, under the retention rule.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
