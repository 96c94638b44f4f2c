"""Server-drawn SVG charts for the console: readable without JavaScript, and each bar
carries its numbers as text (a <title>) so colour is never the only way to read it. The
drawing as a whole is described in words (`describe`, its <desc>), and the console lists the
same numbers in a table for anyone who cannot see the drawing."""

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


def describe(
    counts: dict[date, dict[str, int]], series: list[Series], first: date, last: date
) -> str:
    """The chart in one or two sentences: the totals of each series over the days shown,
    and the last day's total, e.g. "1 Nov to 30 Nov: 12 Verified, 3 Failed. On 30 Nov: 2."
    """
    totals = ", ".join(
        f"{sum(day.get(s.key, 0) for day in counts.values())} {s.label}" for s in series
    )
    return " ".join(
        [
            _("%(first)s to %(last)s: %(totals)s.")
            % {
                "first": date_format(first, "j M"),
                "last": date_format(last, "j M"),
                "totals": totals,
            },
            _("On %(day)s: %(n)d.")
            % {"day": date_format(last, "j M"), "n": sum(counts.get(last, {}).values())},
        ]
    )


def stacked_bars_per_day(
    counts: dict[date, dict[str, int]],
    series: list[Series],
    first: date,
    last: date,
    *,
    name: str = "chart",
    width: int = 760,
    height: int = 240,
    font_size: int = 11,
) -> SafeString:
    """One stacked bar per day from `first` to `last`, in a drawing `width` × `height` units
    (the SVG scales to its box, so one unit is a CSS pixel only at that width), its text
    `font_size` units tall. `name` makes the ids inside unique on a page that draws the
    chart more than once (for a wide screen and for a phone)."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    left, bottom, top = 3 * font_size + 3, 2 * font_size + 6, 12
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
                '<text x="{}" y="{}" font-size="{}" text-anchor="end" fill="#5b6573">{}</text>',
                left,
                width,
                round(y, 1),
                round(y, 1),
                left - 6,
                round(y + font_size / 3, 1),
                font_size,
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
                    '<text x="{}" y="{}" font-size="{}" text-anchor="middle" fill="#5b6573">'
                    "{}</text>",
                    round(x + bar_w / 2, 1),
                    height - 8,
                    font_size,
                    date_format(day, "j M"),
                )
            )
    return format_html(
        '<svg class="chart chart--{}" viewBox="0 0 {} {}" role="img" '
        'aria-labelledby="{}-title" aria-describedby="{}-desc" '
        'xmlns="http://www.w3.org/2000/svg"><title id="{}-title">{}</title>'
        '<desc id="{}-desc">{}</desc>{}</svg>',
        name,
        width,
        height,
        name,
        name,
        name,
        _("Verifications per day by outcome"),
        name,
        describe(counts, series, first, last),
        format_html_join("", "{}", ((p,) for p in parts)),
    )
