"""API keys in the organisation console: list, create (the key is shown once), revoke.

Only the organisation's admins (providers.access.admin_required); keys are always looked up
within the admin's own organisation, so another organisation's key is a 404.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from kyvs import limits
from kyvs.forms import FocusFirstError
from providers.access import admin_required
from providers.models import ApiKey, Scope, start_of_today
from providers.views import undo
from verification.models import Verification


class ApiKeyForm(FocusFirstError, forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        help_text=gettext_lazy("What the key is for, e.g. “Booking system”."),
        max_length=100,
        error_messages={"required": gettext_lazy("Give the key a name.")},
    )
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("What answers may include, beyond the vaccination status"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        # Only scopes the organisation holds can be given to one of its keys.
        self.fields["scopes"].choices = [
            (value, label)
            for value, label in Scope.beyond_status()
            if value in organisation.scopes
        ]

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("Give the key a name."))
        return name


def _usage(organisation) -> dict:
    """Per live key: verifications started today, and where its STARTS_PER_ACTOR limit
    stands (kyvs.limits.Standing; None when the cache cannot say)."""
    today = dict(
        Verification.objects.for_organisation(organisation)
        .started_since(start_of_today())
        .exclude(api_key=None)
        .values_list("api_key")
        .annotate(n=Count("id"))
    )
    usage = {}
    for key in organisation.api_keys.active():
        try:
            starts = limits.peek(limits.STARTS_PER_ACTOR, limits.actor_ident(api_key_pk=key.pk))
        except limits.CacheUnavailable:
            starts = None
        usage[key.pk] = {"today": today.get(key.pk, 0), "starts": starts}
    return usage


def _page(request: HttpRequest, form: ApiKeyForm, *, new_key=None, raw_key="", status=200):
    organisation = request.organisation
    keys = list(organisation.api_keys.select_related("created_by"))
    usage = _usage(organisation)
    for key in keys:
        key.usage = usage.get(key.pk)
    return render(
        request,
        "providers/api_keys_created.html" if raw_key else "providers/api_keys.html",
        {
            "organisation": organisation,
            "form": form,
            "keys": keys,
            "scope_labels": dict(Scope.choices),
            "starts_window_minutes": settings.KYVS_STARTS_WINDOW_SECONDS // 60,
            "daily_quota": organisation.daily_quota,
            "new_key": new_key,
            "raw_key": raw_key,
            "section": "api_keys",
            "undo": undo.current(request),
        },
        status=status,
    )


@never_cache
@admin_required
def api_keys(request: HttpRequest) -> HttpResponse:
    """The list and the form to create a key. A created key is shown in the answer to the
    POST itself rather than after a redirect: it is never stored anywhere in clear, not even
    for a moment in the session, and this page is the only time anyone sees it."""
    organisation = request.organisation
    form = ApiKeyForm(request.POST or None, organisation=organisation)
    if request.method == "POST":
        if not organisation.is_approved:
            messages.error(request, _("API keys can be created once the registry approves you."))
            return redirect("providers:api_keys")
        if form.is_valid():
            new_key, raw_key = ApiKey.issue(
                organisation,
                form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                created_by=request.user,
            )
            return _page(
                request, ApiKeyForm(organisation=organisation), new_key=new_key, raw_key=raw_key
            )
        return _page(request, form, status=422)
    return _page(request, form)


def _key_of(request: HttpRequest, public_id) -> ApiKey:
    return get_object_or_404(ApiKey, public_id=public_id, organisation=request.organisation)


@never_cache
@require_http_methods(["GET", "POST"])
@admin_required
def revoke_api_key(request: HttpRequest, public_id) -> HttpResponse:
    """GET asks to confirm; POST revokes and offers an Undo (providers/views/undo.py)."""
    api_key = _key_of(request, public_id)
    if api_key.revoked_at is not None:
        return redirect("providers:api_keys")
    names = {"name": api_key.name, "prefix": api_key.prefix}
    if request.method == "GET":
        return render(
            request,
            "providers/console_confirm.html",
            {
                "organisation": request.organisation,
                "section": "api_keys",
                "title": _("Revoke the key “%(name)s”?") % names,
                "explanation": _(
                    "Calls with the key %(prefix)s… will be refused at once. You can undo "
                    "this for a few minutes; after that, create a new key."
                )
                % names,
                "confirm": _("Revoke the key “%(name)s”") % names,
                "cancel_url": reverse("providers:api_keys"),
            },
        )
    api_key.revoke()
    messages.success(
        request,
        _("The key “%(name)s” (%(prefix)s…) is revoked; calls with it are refused from now on.")
        % names,
    )
    undo.offer(
        request,
        reverse("providers:restore_api_key", args=[api_key.public_id]),
        _("Undo: accept the key “%(name)s” again") % names,
    )
    return redirect("providers:api_keys")


@require_POST
@admin_required
def restore_api_key(request: HttpRequest, public_id) -> HttpResponse:
    """The Undo of `revoke_api_key`, only as offered (providers/views/undo.py)."""
    api_key = _key_of(request, public_id)
    if not undo.redeem(request):
        messages.error(request, _("This can no longer be undone. Create a new key instead."))
        return redirect("providers:api_keys")
    api_key.restore()
    messages.success(request, _("The key “%(name)s” works again.") % {"name": api_key.name})
    return redirect("providers:api_keys")
