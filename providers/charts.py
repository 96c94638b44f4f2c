"""Server-drawn SVG charts for the console: readable without JavaScript, and each bar
carries its numbers as text (a <title>) so colour is never the only way to read it."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str


def _round_up(n: int) -> int:
    """The next of 1, 2, 5, 10, 20, 50, ... at or above n, for a readable scale."""
    power = 1
    while True:
        for step in (1, 2, 5):
            if power * step >= n:
                return power * step
        power *= 10


def stacked_bars_per_day(
    counts: dict[date, dict[str, int]], series: list[Series], first: date, last: date
) -> SafeString:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    width, height, left, bottom, top = 760, 240, 36, 28, 12
    plot_h = height - bottom - top
    slot = (width - left) / max(len(days), 1)
    bar_w = max(slot * 0.7, 2)
    peak = max([sum(counts.get(d, {}).values()) for d in days] + [1])
    scale = _round_up(peak)
    parts = []
    for value in (0, scale / 2, scale):
        y = top + plot_h - plot_h * value / scale
        label = int(value) if value == int(value) else ""
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#d8dee6" stroke-width="1"/>'
                '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#5b6573">{}</text>',
                left,
                width,
                round(y, 1),
                round(y, 1),
                left - 6,
                round(y + 4, 1),
                label,
            )
        )
    for index, day in enumerate(days):
        x = left + index * slot + (slot - bar_w) / 2
        y = top + plot_h
        day_counts = counts.get(day, {})
        summary = ", ".join(
            f"{day_counts.get(s.key, 0)} {s.label}" for s in series if day_counts.get(s.key)
        )
        title = f"{date_format(day, 'j M')}: {summary or _('none')}"
        rects = []
        for s in series:
            n = day_counts.get(s.key, 0)
            if not n:
                continue
            h = plot_h * n / scale
            y -= h
            rects.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                    round(x, 1),
                    round(y, 1),
                    round(bar_w, 1),
                    round(h, 1),
                    s.colour,
                )
            )
        parts.append(
            format_html(
                "<g><title>{}</title>{}</g>",
                title,
                mark_safe("".join(rects)),  # noqa: S308
            )
        )
        # Label the last day and every seventh before it, so labels never collide.
        if (len(days) - 1 - index) % 7 == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="#5b6573">'
                    "{}</text>",
                    round(x + bar_w / 2, 1),
                    height - 8,
                    date_format(day, "j M"),
                )
            )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="chart-title" '
        'xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{}</title>{}</svg>',
        width,
        height,
        _("Verifications per day by outcome"),
        format_html_join("", "{}", ((p,) for p in parts)),
    )
