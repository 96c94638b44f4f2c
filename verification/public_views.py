"""Public pages about the API and receipts: the JWKS, the receipt checker, the API docs.
None needs an account."""

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from kyvs.forms import FocusFirstError
from providers.models import Purpose
from verification import receipts
from verification.api_errors import ERRORS
from verification.models import VaccinationStatus, Verification


@csrf_exempt  # read-only and public: any method but GET gets a plain 405, never a CSRF 403
@require_GET
@cache_control(public=True, max_age=300)
def jwks(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(receipts.jwks())
    # Anyone may check a receipt, from a browser too.
    response["Access-Control-Allow-Origin"] = "*"
    return response


class ReceiptForm(FocusFirstError, forms.Form):
    receipt = forms.CharField(
        label=_("Receipt"),
        help_text=_("Paste the whole receipt: three parts separated by dots."),
        max_length=receipts.MAX_RECEIPT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}),
        error_messages={
            "required": _("Paste a receipt to check."),
            "max_length": _("This is far longer than any receipt."),
        },
    )


OTHER_VERIFICATION = _(
    "The signature is genuine, but this receipt is for another verification, not this one."
)


def _statements(claims: dict) -> dict:
    """What a checked receipt says, in words. Values the signature vouches for, shown as
    they are; codes translated to labels where we know them."""
    status = claims.get("vaccination_status")
    purpose = claims.get("purpose")
    return {
        "status": VaccinationStatus(status).label
        if status in VaccinationStatus.values
        else status,
        "purpose": Purpose(purpose).label if purpose in Purpose.values else purpose,
        "organisation": claims.get("organisation"),
        "verification_id": claims.get("sub"),
        "vaccinations": claims.get("vaccinations"),
        "beneficiary": claims.get("beneficiary"),
    }


@never_cache
@require_http_methods(["GET", "POST"])
def verify_receipt(request: HttpRequest) -> HttpResponse:
    """Check a pasted receipt. A POST that only reads: nothing is stored, and the page is
    rendered directly (a redirect would have to carry the receipt in the URL)."""
    form = ReceiptForm(request.POST or None)
    check = None
    if request.method == "POST" and form.is_valid():
        check = receipts.verify(form.cleaned_data["receipt"], issuer=settings.KYVS_RECEIPT_ISSUER)
    return render(
        request,
        "verification/receipt_verify.html",
        {
            "form": form,
            "check": check,
            "statements": _statements(check.claims) if check and check.claims else None,
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def receipt_link(request: HttpRequest, verification_id) -> HttpResponse:
    """The page a receipt's QR code leads to (verification/receipts.py, "The receipt's
    link"). With the right check value: that KYVS issued a receipt for this verification, to
    which organisation, for which purpose and when, read from the audit row (which never
    holds the answer); and the receipt checker, which also checks that a pasted receipt is
    the one for this verification. Any other check value, or an id with no verified
    verification, is a 404 that tells nothing."""
    verification_id = str(verification_id)
    if not receipts.link_check_matches(verification_id, request.GET.get("c", "")):
        raise Http404("no such receipt")
    verification = (
        Verification.objects.filter(public_id=verification_id, state=Verification.State.VERIFIED)
        .select_related("organisation")
        .first()
    )
    if verification is None:
        raise Http404("no such receipt")
    form = ReceiptForm(request.POST or None)
    check = None
    if request.method == "POST" and form.is_valid():
        check = receipts.verify(form.cleaned_data["receipt"], issuer=settings.KYVS_RECEIPT_ISSUER)
        if check.claims is not None and check.claims.get("sub") != verification_id:
            check.valid, check.problem = False, str(OTHER_VERIFICATION)
    return render(
        request,
        "verification/receipt_link.html",
        {
            "verification": verification,
            "form": form,
            "check": check,
            "statements": _statements(check.claims) if check and check.claims else None,
        },
    )


@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "verification/api_docs.html",
        {
            "base_url": request.build_absolute_uri("/").rstrip("/"),
            "errors": sorted(ERRORS.values(), key=lambda e: (e.status, e.code)),
            "purposes": Purpose.choices,
            "token_ttl": settings.KYVS_API_TOKEN_TTL_SECONDS,
        },
    )
