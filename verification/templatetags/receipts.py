"""Template helpers for signed receipts: the QR code of a receipt's link, drawn on the
server as inline SVG."""

import segno
from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from verification import receipts

register = template.Library()


def receipt_link(request, verification_id: str) -> str:
    """The absolute address of KYVS's page for the receipt of `verification_id`, with its
    check value (verification/receipts.py, "The receipt's link")."""
    path = reverse("receipts:link", args=[verification_id])
    query = urlencode({"c": receipts.link_check(str(verification_id))})
    return request.build_absolute_uri(f"{path}?{query}")


# The mask pattern of every receipt's QR code (ISO/IEC 18004, 7.8): any of 0-7 is valid.
QR_MASK = 0


def qr_code(link: str) -> segno.QRCode:
    """`link` as a QR code of error correction level M, mask QR_MASK, never a Micro QR."""
    return segno.make(link, error="m", micro=False, mask=QR_MASK)


@register.simple_tag(takes_context=True)
def receipt_qr(context, verification_id: str) -> str:
    """The receipt's link as an SVG QR code (no script, no image request).

    A link of about 100 characters makes a version 5 or 6 code (37 or 41 modules): about
    4.5 px a module at the 224 px the page gives it, which a phone reads from a monitor.
    Error correction M: a smudge or a glare on the screen still reads. Drawn with one fixed
    mask pattern (QR_MASK) rather than the best of the eight by ISO/IEC 18004's penalty
    score: every mask is a valid code, and trying all eight made the code 4 times slower
    to draw (5.3 against 1.4 ms, the largest part of the result page: docs/performance.md);
    tests/verification/test_receipts.py reads codes of many links back."""
    request = context["request"]
    code = qr_code(receipt_link(request, verification_id))
    svg = code.svg_inline(scale=4, border=4, omitsize=True, svgclass="receipt-qr")
    # segno escapes nothing of ours: the SVG holds only the modules drawn from the link.
    return format_html(
        '<figure class="receipt-qr__figure" role="img" aria-label="{}">{}</figure>',
        _("QR code of a link to this receipt's page at KYVS"),
        mark_safe(svg),  # noqa: S308
    )
