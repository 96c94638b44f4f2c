from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from kyvs.admin_forms import LabelledInlineFormSet
from kyvs.audit import AuditedModelAdmin
from providers.admin_site import KyvsAdminSite
from providers.forms import ApproveForm, ReasonForm
from providers.models import (
    ApiKey,
    BackupCodeDevice,
    DecisionRefused,
    Membership,
    Organisation,
    OrganisationDecision,
    PendingApplication,
    Scope,
    StartsOfDay,
)

# The admin asks for a verified second factor (django-otp's OTPAdminSite). Swapping the
# default site's class keeps every app's `admin.register` working unchanged.
admin.site.__class__ = KyvsAdminSite


class MembershipInline(admin.TabularInline):
    formset = LabelledInlineFormSet
    model = Membership
    fk_name = "organisation"
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["invited_by", "created_at"]


class DecisionInline(admin.TabularInline):
    model = OrganisationDecision
    extra = 0
    can_delete = False
    fields = ["decided_at", "action", "from_state", "to_state", "decided_by", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


APPLICATION_FIELDS = [
    "sector",
    "registration_kind",
    "registration_number",
    "address",
    "indian_state",
    "website",
    "contact_name",
    "contact_email",
    "contact_mobile",
    # The lists the applicant chose, in words (the stored JSON would show ["travel"]).
    "purposes_asked_for",
    "data_asked_for",
    "terms_accepted_at",
]
GRANTED_FIELDS = ["sms_name", "scopes", "purposes", "daily_quota"]


def _decide(modeladmin, request, queryset, title, form_class, decide, initial=None):
    """An action with an intermediate page: the form first, then the decision for each
    selected organisation, each recorded and e-mailed by the model method."""
    form = form_class(request.POST if "apply" in request.POST else None, initial=initial)
    if form.is_valid():
        done = 0
        for organisation in queryset:
            try:
                decide(organisation, form.cleaned_data)
            except DecisionRefused as refusal:
                modeladmin.message_user(request, refusal.message, messages.ERROR)
            else:
                modeladmin.record(request, organisation, str(title))
                done += 1
        if done:
            modeladmin.message_user(
                request,
                _("%(title)s: %(n)d organisation(s); each has been e-mailed.")
                % {"title": title, "n": done},
                messages.SUCCESS,
            )
        return None
    return TemplateResponse(
        request,
        "admin/providers/decide.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "form": form,
            "organisations": queryset,
            "action": request.POST.get("action"),
            "opts": modeladmin.model._meta,
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
        },
    )


@admin.action(description=_("Approve… (choose scopes, purposes and quota)"))
def approve(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(
            request, _("Approve one organisation at a time."), messages.WARNING
        )
        return None
    organisation = queryset.get()
    return _decide(
        modeladmin,
        request,
        queryset,
        _("Approve"),
        ApproveForm,
        lambda org, data: org.approve(
            request.user, data["scopes"], data["purposes"], data["daily_quota"], data["sms_name"]
        ),
        initial={
            "scopes": organisation.requested_scopes,
            "purposes": organisation.requested_purposes,
            "daily_quota": 1000,
            "sms_name": organisation.sms_name,
        },
    )


def _reason_action(name: str, title, description):
    """An admin action that asks for a reason, then calls Organisation.<name>(by, reason)."""

    def action(modeladmin, request, queryset):
        return _decide(
            modeladmin,
            request,
            queryset,
            title,
            ReasonForm,
            lambda org, data: getattr(org, name)(request.user, data["reason"]),
        )

    action.__name__ = name
    return admin.action(description=description)(action)


reject = _reason_action("reject", _("Reject"), _("Reject… (with a reason)"))
suspend = _reason_action("suspend", _("Suspend"), _("Suspend… (with a reason)"))
reinstate = _reason_action("reinstate", _("Reinstate"), _("Reinstate… (with a reason)"))

# Every decision, by the action's name: what the buttons on an organisation's own page
# call, and which state each may be taken from (OrganisationDecision.RULES).
DECISIONS = {"approve": approve, "reject": reject, "suspend": suspend, "reinstate": reinstate}


@admin.register(Organisation)
class OrganisationAdmin(AuditedModelAdmin):
    list_display = ["name", "kind", "sector", "state", "indian_state", "daily_quota", "created_at"]
    list_filter = ["state", "kind", "sector", "indian_state"]
    search_fields = ["name", "=registration_number", "contact_email"]
    # Approving and rejecting are for applications (the review queue, PendingApplication);
    # here, the decisions about organisations already decided on.
    actions = [suspend, reinstate]
    # The state changes only through the decisions, so that every change is a recorded
    # decision the organisation is told about.
    readonly_fields = ["public_id", "state", "created_at", "embed_origins", *APPLICATION_FIELDS]
    fieldsets = [
        (None, {"fields": ["name", "kind", "state", "public_id", "created_at"]}),
        (_("Granted"), {"fields": GRANTED_FIELDS}),
        (_("Security"), {"fields": ["require_operator_two_factor", "embed_origins"]}),
        (_("Application"), {"fields": APPLICATION_FIELDS}),
    ]
    inlines = [DecisionInline, MembershipInline]
    change_form_template = "admin/providers/organisation_change_form.html"

    def get_readonly_fields(self, request, obj=None):
        """What is granted is granted by approving (with its own form): on an organisation
        that is not approved, the granted boxes are shown, not offered for editing."""
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None or not obj.is_approved:
            fields += GRANTED_FIELDS
        return fields

    @admin.display(description=_("purposes asked for"))
    def purposes_asked_for(self, obj):
        return ", ".join(str(label) for label in obj.requested_purpose_labels()) or "—"

    @admin.display(description=_("data asked for, and why"))
    def data_asked_for(self, obj):
        reasons = obj.scope_reason_labels()
        if not reasons:
            return _("The vaccination status only")
        return format_html_join(
            "", "<p><strong>{}</strong>: “{}”</p>", ((str(s), r) for s, r in reasons)
        )

    def decisions_open(self, obj) -> list[tuple[str, str]]:
        """(action name, button label) of each decision that can be taken on `obj` now."""
        labels = {
            "approve": _("Approve…"),
            "reject": _("Reject…"),
            "suspend": _("Suspend…"),
            "reinstate": _("Reinstate…"),
        }
        return [
            (name, labels[name])
            for name, rule in OrganisationDecision.RULES.items()
            if obj.state in rule["from"]
        ]

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/decide/<str:action>/",
                self.admin_site.admin_view(self.decide_view),
                name="{}_{}_decide".format(*info),
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request, object_id, action):
        """A decision taken from the organisation's own page: the same form and the same
        model method as the list's action, for this one organisation. Only a decision its
        state allows is found (404 otherwise)."""
        organisation = self.get_object(request, object_id)
        if organisation is None or action not in dict(self.decisions_open(organisation)):
            raise Http404("no such decision here")
        if not self.has_change_permission(request, organisation):
            raise PermissionDenied
        queryset = self.get_queryset(request).filter(pk=organisation.pk)
        answer = DECISIONS[action](self, request, queryset)
        if answer is not None:
            return answer
        # Decided: to the organisation's page (a decided application has left the queue).
        return redirect(reverse("admin:providers_organisation_change", args=[organisation.pk]))

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            info = self.opts.app_label, self.opts.model_name
            context["decisions"] = [
                (reverse("admin:{}_{}_decide".format(*info), args=[obj.pk, name]), label)
                for name, label in self.decisions_open(obj)
            ]
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)


@admin.register(PendingApplication)
class PendingApplicationAdmin(OrganisationAdmin):
    """The review queue: oldest first, the application to read, approve or reject, from the
    list or from the application's own page. An application is decided on, never deleted:
    a rejection is recorded and the applicant is told."""

    list_display = [
        "name",
        "sms_name",
        "kind",
        "sector",
        "registration_number",
        "asks_for",
        "created_at",
    ]
    list_filter = ["kind", "sector", "indian_state"]
    actions = [approve, reject]
    ordering = ["created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).pending()

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("asks for"))
    def asks_for(self, obj):
        return ", ".join(str(Scope(s).label) for s in obj.requested_scopes) or "—"


@admin.register(OrganisationDecision)
class OrganisationDecisionAdmin(AuditedModelAdmin):
    list_display = ["decided_at", "organisation", "action", "decided_by", "reason"]
    # decided_by may be empty, which the admin's own select_related() would leave out: one
    # query per row.
    list_select_related = ["organisation", "decided_by"]
    list_filter = ["action"]
    search_fields = ["organisation__name"]
    readonly_fields = [f.name for f in OrganisationDecision._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StartsOfDay)
class StartsOfDayAdmin(AuditedModelAdmin):
    """Each organisation's verifications started a day, against its daily quota: read only,
    written by the starts themselves."""

    list_display = ["day", "organisation", "started"]
    list_select_related = ["organisation"]
    list_filter = ["day"]
    search_fields = ["organisation__name"]
    date_hierarchy = "day"
    readonly_fields = [f.name for f in StartsOfDay._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Membership)
class MembershipAdmin(AuditedModelAdmin):
    list_display = ["user", "organisation", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]
    readonly_fields = ["public_id", "invited_by"]


@admin.register(BackupCodeDevice)
class BackupCodeDeviceAdmin(AuditedModelAdmin):
    """Registry admins can see how many codes someone has left, and delete the set."""

    list_display = ["user", "remaining", "confirmed"]
    search_fields = ["user__username"]
    fields = ["user", "name", "confirmed"]
    readonly_fields = ["user"]

    def has_add_permission(self, request):
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedModelAdmin):
    """Keys are made in the console or with `create_api_key`, where the key can be shown
    once; here a registry admin finds a key by the prefix seen in a log, and revokes it."""

    list_display = ["prefix", "name", "organisation", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "organisation__name"]
    list_select_related = ["organisation"]
    fields = [
        "organisation",
        "name",
        "prefix",
        "scopes",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = [
        "organisation",
        "prefix",
        "scopes",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        for api_key in queryset:
            api_key.revoke()
            self.record(request, api_key, "Revoked")
        self.message_user(request, _("Revoked."), messages.SUCCESS)
