"""Template helpers for signed receipts: a QR code drawn on the server, as inline SVG."""

import segno
from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def receipt_qr(receipt: str) -> str:
    """The receipt as an SVG QR code (no script, no image request), or "" if it is too long
    for one."""
    if not receipt:
        return ""
    try:
        code = segno.make(receipt, error="l", micro=False)
    except segno.DataOverflowError:
        return ""
    svg = code.svg_inline(scale=4, border=4, omitsize=True, svgclass="receipt-qr")
    # segno escapes nothing of ours: the SVG holds only the modules drawn from the receipt.
    return format_html(
        '<figure class="receipt-qr__figure" role="img" aria-label="{}">{}</figure>',
        _("QR code of the signed receipt"),
        mark_safe(svg),  # noqa: S308
    )
