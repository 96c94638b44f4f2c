"""Approve on my own phone: the link in the OTP SMS (/c/<public id>/<token>).

Opened on the citizen's own phone it shows the same consent text as the shared screen (who
asks, why, for what) with Approve and Decline. Approve does what typing the right code
does (services.approve_by_link), for the one verification the link was made with, once,
while its code is valid; the result waits for the shared screen, which follows within a
second or two (it polls). Decline ends the verification as declined. Typing the code on the
shared screen keeps working. Nobody matched means no SMS and so no link: the shared screen
waits exactly as it does for a match.

The link carries the verification's public id (22 characters, kyvs.converters) beside its
secret token, so that the lookup is by the public id and the token's digest together: one
row, and one shard if verifications are distributed by public id (docs/scaling.md).

Links of the earlier shape, /c/<token> without the public id, were sent only before that
change and live only as long as their code (KYVS_OTP_TTL_SECONDS, minutes). They are not
looked up: each gets the page that says the link no longer works (410), as a spent link
does, and the code in the same SMS still works on the shared screen.
"""

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from providers.models import Scope
from verification import services
from verification.embed_outcome import back_end_results
from verification.handoff import phone_approved_results
from verification.models import Verification


@never_cache
@require_http_methods(["GET", "POST"])
def approve(request: HttpRequest, public_id: uuid.UUID, token: str) -> HttpResponse:
    verification = services.verification_for_link(public_id, token)
    if verification is not None:
        # The page speaks the customer's language, even to say the link is spent.
        translation.activate(verification.language)
        request.LANGUAGE_CODE = verification.language
    if verification is None or not verification.is_waiting_for_code:
        return render(request, "verification/approve_gone.html", status=410)
    if request.method == "POST":
        answer = request.POST.get("answer")
        if answer == "approve":
            outcome = services.approve_by_link(public_id, token)
            if outcome.ok:
                phone_approved_results().hold(outcome.result)
                if verification.channel == Verification.Channel.EMBED and hasattr(
                    verification, "embed_session"
                ):
                    # An embed session's back end fetches the result too, as after a
                    # code typed in the frame.
                    back_end_results().hold(outcome.result)
                return render(request, "verification/approve_done.html", {"agreed": True})
        elif answer == "decline":
            services.decline_by_link(public_id, token)
            return render(request, "verification/approve_done.html", {"agreed": False})
        return render(request, "verification/approve_gone.html", status=410)
    return render(
        request,
        "verification/approve.html",
        {
            "verification": verification,
            "scopes": [Scope(s).label for s in verification.scopes],
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def spent_link(request: HttpRequest, token: str) -> HttpResponse:
    """A link of the earlier shape (/c/<token>): it no longer works, whatever its token."""
    return render(request, "verification/approve_gone.html", status=410)
