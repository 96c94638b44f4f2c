"""Template helpers shared by every app's pages."""

from django import template

register = template.Library()


@register.filter
def minutes_seconds(seconds: int) -> str:
    """Whole seconds as a clock reads them, "m:ss" (125 → "2:05"): the same in every
    language, with no plural to agree with the number (static/js/kyvs.js writes the
    countdown the same way)."""
    seconds = max(int(seconds), 0)
    return f"{seconds // 60}:{seconds % 60:02d}"
