"""The embeddable page in the organisation console: the origins of the organisation's own
website that may frame it, and the snippet to paste there.

Only the organisation's admins (providers.access.admin_required), and only for their own
organisation: the page has no identifier an outsider could change.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from providers.access import admin_required
from providers.forms import EmbedOriginsForm

FRAME_WIDTH, FRAME_HEIGHT = 400, 640


@never_cache
@admin_required
def embed_origins(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation
    initial = {"origins": "\n".join(organisation.embed_origins)}
    form = EmbedOriginsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = organisation.set_embed_origins(form.cleaned_data["origins"])
        if saved:
            messages.success(
                request,
                _("Pages from these origins may now show KYVS: %(origins)s.")
                % {"origins": ", ".join(saved)},
            )
        else:
            messages.success(request, _("No website may show KYVS in a frame now."))
        return redirect("providers:embed")
    frame_url = request.build_absolute_uri(reverse("embed:start", args=[organisation.public_id]))
    return render(
        request,
        "providers/console_embed.html",
        {
            "organisation": organisation,
            "form": form,
            "frame_url": frame_url,
            "frame_width": FRAME_WIDTH,
            "frame_height": FRAME_HEIGHT,
            "section": "embed",
        },
        status=422 if form.errors else 200,
    )
