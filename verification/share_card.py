"""The citizen's share card: their vaccination status as a PNG to post on social media.

Drawn on the server with Pillow, in English, Gujarati or Hindi. The card shows the status
words, the date the status was checked, "KYVS", a QR code that leads to the share page (so a
forwarded or printed card can still be checked) and, only if the citizen asks, their first
name. Nothing else personal is drawn, and the PNG carries no metadata at all.

Pure: no database, no request, no settings but BASE_DIR (to find static/fonts).

Indic text must be shaped (conjuncts, reordered and stacked vowel signs), which Pillow does
only through its Raqm layout (HarfBuzz). Pillow's wheels carry Raqm and HarfBuzz but load
FriBiDi from the system at run time (Debian: libfribidi0); without it Pillow would silently
fall back to its basic layout and draw Gujarati and Hindi wrongly, so a card is refused
instead (`ImproperlyConfigured`).

The look follows the result page's badge (templates/verification/result.html and
static/css/kyvs.css): the same colours per status, the same icons (drawn here with
ImageDraw from the same SVG paths, on a 48-unit grid) and the same border styles — solid,
dashed, dotted — so that colour is never the only clue.
"""

import bisect
import dataclasses
import io
import itertools
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from functools import cache, lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import segno
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont, features

from verification.models import VaccinationStatus


class CardSize(Enum):
    """The two cards, as (width, height) in pixels.

    LINK_PREVIEW: 1200×630, the `og:image` size Open Graph consumers (Facebook, LinkedIn,
    WhatsApp, X's large summary card) recommend, aspect 1.91:1.
    SQUARE: 1080×1080, the square post size that Instagram, WhatsApp status and stories
    show whole.
    """

    LINK_PREVIEW = (1200, 630)
    SQUARE = (1080, 1080)

    @property
    def width(self) -> int:
        return self.value[0]

    @property
    def height(self) -> int:
        return self.value[1]


class UndrawableText(ValueError):
    """Text holds a character that none of the card's fonts can draw (a script other than
    Latin, Greek, Cyrillic, Gujarati or Devanagari, an emoji) or a control character."""


@dataclass(frozen=True)
class CardText:
    """Every word a card shows, in the card's language."""

    tagline: str
    heading: str
    first_name: str | None
    status: str
    verified: str
    caption: str


# --- Colours: the custom properties of static/css/kyvs.css ---------------------------------

INK = (0x14, 0x21, 0x3D)
INK_SOFT = (0x46, 0x53, 0x6A)
LINE = (0xD5, 0xDB, 0xE5)
PAPER = (0xF3, 0xF5, 0xF8)
WHITE = (0xFF, 0xFF, 0xFF)
BRAND = (0x0B, 0x5C, 0xAB)
BRAND_DARK = (0x08, 0x48, 0x84)


@dataclass(frozen=True)
class _StatusLook:
    colour: tuple[int, int, int]
    background: tuple[int, int, int]
    border: str  # "solid", "dashed" or "dotted", as .badge--<status>


_LOOKS = {
    VaccinationStatus.FULLY_VACCINATED: _StatusLook(
        (0x0E, 0x6E, 0x38), (0xE7, 0xF4, 0xEC), "solid"
    ),
    VaccinationStatus.PARTIALLY_VACCINATED: _StatusLook(
        (0x7A, 0x4F, 0x00), (0xFF, 0xF3, 0xD1), "dashed"
    ),
    VaccinationStatus.NOT_VACCINATED: _StatusLook(
        (0xA3, 0x26, 0x1B), (0xFC, 0xEB, 0xEA), "dotted"
    ),
}


# --- Fonts and runs of text ---------------------------------------------------------------

_FONT_DIR = Path(settings.BASE_DIR) / "static" / "fonts"
RAQM = ImageFont.Layout.RAQM
ZWNJ, ZWJ = "\u200c", "\u200d"
ELLIPSIS = "\u2026"


@dataclass(frozen=True)
class _Face:
    regular: str
    bold: str
    language: str  # BCP 47 tag given to the shaper, for the font's local forms


_LATIN = _Face("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "en")
_GUJARATI = _Face("NotoSansGujarati-Regular.ttf", "NotoSansGujarati-Bold.ttf", "gu")
_DEVANAGARI = _Face("NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf", "hi")

# Fonts by card language, the language's own first: characters that several fonts have
# (digits, punctuation) are then drawn in the font of the language around them.
_FACES = {
    "en": (_LATIN, _GUJARATI, _DEVANAGARI),
    "gu": (_GUJARATI, _LATIN, _DEVANAGARI),
    "hi": (_DEVANAGARI, _LATIN, _GUJARATI),
}
LANGUAGES = tuple(_FACES)


@cache
def _coverage(face: _Face) -> frozenset[int]:
    """The code points both files of `face` map to a glyph (their cmap tables)."""
    maps = []
    for name in (face.regular, face.bold):
        with TTFont(_FONT_DIR / name, lazy=True) as font:
            maps.append(frozenset(font.getBestCmap()))
    return maps[0] & maps[1]


@lru_cache(maxsize=256)
def _font(name: str, px: int, layout: ImageFont.Layout) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_FONT_DIR / name), px, layout_engine=layout)


def _is_control(char: str) -> bool:
    # Joiners choose between conjunct and half forms in Indic scripts; every other format
    # or control character (bidi overrides, zero-width spaces) has no business in a name.
    return unicodedata.category(char)[0] == "C" and char not in (ZWNJ, ZWJ)


def _split_runs(text: str, faces: Sequence[_Face]) -> list[tuple[str, _Face]]:
    """`text` cut where the font must change: each letter goes to the first of `faces` that
    has it; spaces, digits, punctuation and marks stay with the run before them when its font
    has them, so a run ends only where the script does. Raises UndrawableText."""
    runs: list[tuple[str, _Face]] = []
    for char in text:
        code = ord(char)
        if _is_control(char):
            raise UndrawableText(f"U+{code:04X} is a control character")
        current = runs[-1][1] if runs else None
        if current and unicodedata.category(char)[0] != "L" and code in _coverage(current):
            face = current
        else:
            face = next((f for f in faces if code in _coverage(f)), None)
            if face is None:
                raise UndrawableText(f"no card font has U+{code:04X}")
        if runs and face == current:
            runs[-1] = (runs[-1][0] + char, face)
        else:
            runs.append((char, face))
    return runs


def can_draw(text: str) -> bool:
    """Whether every character of `text` can be drawn on a card, in any of its languages
    (see UndrawableText): for a form that offers the first name."""
    try:
        _split_runs(text, _FACES["en"])
    except UndrawableText:
        return False
    return True


@dataclass(frozen=True)
class _Line:
    """One line of text, shaped: its runs with their fonts, and its size in pixels."""

    text: str
    runs: tuple[tuple[str, ImageFont.FreeTypeFont, str], ...]
    width: float
    ascent: int
    descent: int

    @property
    def height(self) -> int:
        return self.ascent + self.descent


@lru_cache(maxsize=1024)
def _shape(
    text: str, px: int, bold: bool, faces: tuple[_Face, ...], layout: ImageFont.Layout
) -> _Line:
    runs = []
    for part, face in _split_runs(text, faces):
        font = _font(face.bold if bold else face.regular, px, layout)
        # The basic layout takes no language (it shapes nothing).
        runs.append((part, font, face.language if layout == RAQM else None))
    # A line's box is as tall as its tallest font (the Indic fonts reach further below the
    # baseline than Noto Sans), so that lines of one block sit at an even pitch.
    metrics = [font.getmetrics() for _part, font, _lang in runs] or [
        _font(faces[0].bold if bold else faces[0].regular, px, layout).getmetrics()
    ]
    width = sum(font.getlength(part, language=lang) for part, font, lang in runs)
    return _Line(
        text,
        tuple(runs),
        width,
        ascent=max(a for a, _d in metrics),
        descent=max(d for _a, d in metrics),
    )


def _draw_line(
    draw: ImageDraw.ImageDraw, line: _Line, x: float, baseline: float, fill: tuple
) -> None:
    for part, font, lang in line.runs:
        draw.text((x, baseline), part, font=font, fill=fill, anchor="ls", language=lang)
        x += font.getlength(part, language=lang)


def _can_cut_before(text: str, i: int) -> bool:
    """Whether text[:i] ends on a whole character as a reader sees it: no vowel sign, nukta
    or other mark cut off from its letter, no virama or joiner left waiting for the letter it
    would have joined (which would draw a dotted circle or a half form)."""
    if i <= 0 or i >= len(text):
        return i > 0
    after, before = text[i], text[i - 1]
    return not (
        unicodedata.category(after)[0] == "M"
        or after in (ZWNJ, ZWJ)
        or before in (ZWNJ, ZWJ)
        or unicodedata.combining(before) == 9  # virama
    )


def _truncate(text: str, fits: Callable[[str], bool]) -> str:
    """The longest start of `text`, cut between whole characters and ended with "…", that
    `fits`; "…" alone if none does."""
    cuts = [i for i in range(1, len(text)) if _can_cut_before(text, i)]
    best = ELLIPSIS
    low, high = 0, len(cuts) - 1
    while low <= high:  # fits() holds for shorter starts whenever it holds for a longer one
        middle = (low + high) // 2
        candidate = text[: cuts[middle]].rstrip() + ELLIPSIS
        if fits(candidate):
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def fit_text(
    text: str,
    *,
    language: str,
    max_width: int,
    px: tuple[int, int],
    bold: bool = False,
    max_lines: int = 1,
    layout: ImageFont.Layout = RAQM,
) -> tuple[int, list[str]]:
    """Fit `text` into at most `max_lines` lines no wider than `max_width` pixels.

    `px` is (largest, smallest) font size in pixels. The largest size, from px[0] down in
    steps of 2 px, at which the words break into that many lines (at spaces only, the lines
    as even as they can be) wins. If even px[1] is too large, the text is laid out at px[1]
    and what does not fit is cut between whole characters and ends with "…".
    `language` (en, gu, hi) orders the fonts. Returns (size in px, lines).
    Raises ValueError for blank text, UndrawableText for text the fonts cannot draw.
    """
    faces = _FACES[language]
    words = text.split()
    if not words:
        raise ValueError("there is no text to fit")

    def width(line: str, size: int) -> float:
        return _shape(line, size, bold, faces, layout).width

    for size in range(px[0], px[1] - 1, -2):
        best: list[str] | None = None
        best_width = math.inf
        for count in range(1, min(max_lines, len(words)) + 1):
            for breaks in itertools.combinations(range(1, len(words)), count - 1):
                edges = (0, *breaks, len(words))
                lines = [" ".join(words[a:b]) for a, b in itertools.pairwise(edges)]
                widest = max(width(line, size) for line in lines)
                if widest <= max_width and widest < best_width:
                    best, best_width = lines, widest
            if best:
                return size, best
    # Nothing fits: fill the lines greedily at the smallest size and cut the last one.
    size, lines = px[1], []
    rest = words
    while rest and len(lines) < max_lines - 1:
        taken = 1
        while taken < len(rest) and width(" ".join(rest[: taken + 1]), size) <= max_width:
            taken += 1
        line = " ".join(rest[:taken])
        if width(line, size) > max_width:
            break
        lines.append(line)
        rest = rest[taken:]
    if rest:
        lines.append(_truncate(" ".join(rest), lambda s: width(s, size) <= max_width))
    return size, lines


def render_text(
    text: str, *, language: str, px: int, bold: bool = False, layout: ImageFont.Layout = RAQM
) -> Image.Image:
    """One line of `text` drawn black on white exactly as a card draws it, at `px` pixels
    per em, with a margin of one em around its line box: a greyscale ("L") image.

    `layout` exists so that a test can show what Pillow's basic layout would do instead.
    Raises UndrawableText.
    """
    line = _shape(text, px, bold, _FACES[language], layout)
    image = Image.new("L", (math.ceil(line.width) + 2 * px, line.height + 2 * px), 255)
    _draw_line(ImageDraw.Draw(image), line, px, px + line.ascent, 0)
    return image


# --- What the card says -----------------------------------------------------------------


def _clean_name(first_name: str | None) -> str | None:
    if first_name is None:
        return None
    name = " ".join(unicodedata.normalize("NFC", first_name).split())
    return name or None


def card_text(*, status: int, language: str, checked_on: date, first_name: str | None) -> CardText:
    """The words of a card: the status label of `verification.models.VaccinationStatus`,
    "Verified by KYVS on <date>" with the month named in `language`, the QR caption, the
    brand's tagline and, if given, the first name (spaces collapsed, Unicode NFC).

    Raises ValueError for a status other than 0, 1, 2 or a language other than en, gu, hi;
    TypeError for a datetime (give the local date, e.g. `timezone.localdate(moment)`, so that
    the day is India's); UndrawableText for a first name the card's fonts cannot draw.
    """
    if language not in _FACES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    if isinstance(checked_on, datetime) or not isinstance(checked_on, date):
        raise TypeError(
            f"checked_on must be a date (the local day), not a {type(checked_on).__name__}"
        )
    try:
        label = VaccinationStatus(status).label
    except ValueError:
        raise ValueError(f"status must be 0, 1 or 2, not {status!r}") from None
    name = _clean_name(first_name)
    if name is not None:
        _split_runs(name, _FACES[language])
    with translation.override(language):
        # "j F Y" (5 December 2026) rather than each locale's DATE_FORMAT: Django has no
        # Gujarati format, and its default, "N j, Y", reads as an American date.
        day = date_format(checked_on, "j F Y")
        return CardText(
            tagline=_("Know Your Vaccination Status"),
            heading=_("Vaccination status"),
            first_name=name,
            status=str(label),
            verified=_("Verified by KYVS on %(date)s") % {"date": day},
            caption=_("Scan to check this card"),
        )


# --- Shapes, drawn at four times the size and scaled down, since Pillow's shapes have no
# anti-aliasing --------------------------------------------------------------------------

_SUPERSAMPLE = 4
_Paint = Callable[[ImageDraw.ImageDraw, float], None]


def _antialiased(width: int, height: int, background: tuple, paint: _Paint) -> Image.Image:
    """An RGB image of (width, height) px: `paint(draw, scale)` draws on a canvas `scale`
    times larger, filled with `background`, which is then scaled down by averaging."""
    big = Image.new("RGB", (width * _SUPERSAMPLE, height * _SUPERSAMPLE), background)
    paint(ImageDraw.Draw(big), _SUPERSAMPLE)
    return big.reduce(_SUPERSAMPLE)


def _stroke(draw: ImageDraw.ImageDraw, points: list, width: float, fill: tuple) -> None:
    """A polyline with round joins and round caps (SVG's stroke-linecap="round")."""
    draw.line(points, fill=fill, width=round(width), joint="curve")
    radius = width / 2
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)


def _circle(cx: float, cy: float, r: float) -> tuple[float, float, float, float]:
    return (cx - r, cy - r, cx + r, cy + r)


def _status_icon(status: VaccinationStatus) -> _Paint:
    """The badge icon of result.html (viewBox 0 0 48 48), painted with `unit` canvas pixels
    per viewBox unit."""
    colour = _LOOKS[status].colour

    def paint(draw: ImageDraw.ImageDraw, unit: float) -> None:
        def at(*xy: float) -> list[tuple[float, float]]:
            return [(xy[i] * unit, xy[i + 1] * unit) for i in range(0, len(xy), 2)]

        if status == VaccinationStatus.FULLY_VACCINATED:
            draw.ellipse(_circle(24 * unit, 24 * unit, 22 * unit), fill=colour)
            _stroke(draw, at(14, 25, 21, 32, 34, 17), 5 * unit, WHITE)
            return
        # A ring of radius 20 and width 4 (from 18 to 22), as SVG strokes a circle.
        draw.ellipse(
            _circle(24 * unit, 24 * unit, 22 * unit), outline=colour, width=round(4 * unit)
        )
        if status == VaccinationStatus.PARTIALLY_VACCINATED:
            draw.pieslice(_circle(24 * unit, 24 * unit, 20 * unit), -90, 90, fill=colour)
        else:
            _stroke(draw, at(16, 16, 32, 32), 5 * unit, colour)
            _stroke(draw, at(32, 16, 16, 32), 5 * unit, colour)

    return paint


def _cubic(p0, p1, p2, p3, steps: int = 24) -> list[tuple[float, float]]:
    points = []
    for k in range(1, steps + 1):
        t = k / steps
        points.append(
            tuple(
                (1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t**2 * c + t**3 * d
                for a, b, c, d in zip(p0, p1, p2, p3, strict=True)
            )
        )
    return points


def _brand_mark(draw: ImageDraw.ImageDraw, unit: float) -> None:
    """The shield and tick of base.html's brand mark (viewBox 0 0 32 32), as on the top bar:
    the shield white at 25 % over the brand blue, the tick white."""
    shield = [(16, 2), (4, 7), (4, 15)]
    shield += _cubic((4, 15), (4, 22.5), (9.1, 28.4), (16, 30))
    shield += _cubic((16, 30), (22.9, 28.4), (28, 22.5), (28, 15))
    shield += [(28, 7)]
    over_brand = tuple(round(0.25 * 255 + 0.75 * c) for c in BRAND)
    draw.polygon([(x * unit, y * unit) for x, y in shield], fill=over_brand)
    _stroke(
        draw,
        [(10.5 * unit, 16.5 * unit), (14.5 * unit, 20.5 * unit), (21.5 * unit, 12.5 * unit)],
        2.6 * unit,
        WHITE,
    )


def _rounded_path(box: tuple[float, float, float, float], radius: float, step: float) -> list:
    """Points about `step` apart along a rounded rectangle, clockwise from the left end of
    its top side, back to that point."""
    x0, y0, x1, y1 = box
    corners = [(x1 - radius, y0 + radius, -90), (x1 - radius, y1 - radius, 0)]
    corners += [(x0 + radius, y1 - radius, 90), (x0 + radius, y0 + radius, 180)]
    points = [(x0 + radius, y0)]
    arc_steps = max(2, math.ceil(math.pi / 2 * radius / step))
    for cx, cy, start in corners:
        # The straight side up to this corner, then the corner's quarter circle.
        ax, ay = points[-1]
        bx = cx + radius * math.cos(math.radians(start))
        by = cy + radius * math.sin(math.radians(start))
        side_steps = max(1, math.ceil(math.hypot(bx - ax, by - ay) / step))
        points += [
            (ax + (bx - ax) * k / side_steps, ay + (by - ay) * k / side_steps)
            for k in range(1, side_steps + 1)
        ]
        for k in range(1, arc_steps + 1):
            angle = math.radians(start + 90 * k / arc_steps)
            points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def _badge_panel(
    status: VaccinationStatus, width: int, height: int, border: int, radius: int
) -> _Paint:
    """The badge's box, `width` × `height` px: the status background and a border `border` px
    wide, solid, dashed or dotted as `.badge--<status>` (dashes three widths long with a gap
    of one, round dots one width across with a gap of one, spaced so the pattern closes)."""
    look = _LOOKS[status]

    def paint(draw: ImageDraw.ImageDraw, scale: float) -> None:
        w, r = border * scale, radius * scale
        box = (0, 0, width * scale - 1, height * scale - 1)
        if look.border == "solid":
            draw.rounded_rectangle(
                box, r, fill=look.background, outline=look.colour, width=round(w)
            )
            return
        draw.rounded_rectangle(box, r, fill=look.background)
        path = _rounded_path((w / 2, w / 2, box[2] - w / 2, box[3] - w / 2), r - w / 2, scale)
        along = [0.0]
        for a, b in itertools.pairwise(path):
            along.append(along[-1] + math.dist(a, b))
        count = max(1, round(along[-1] / ((4 if look.border == "dashed" else 2) * w)))
        period = along[-1] / count
        for k in range(count):
            first = bisect.bisect_left(along, k * period)
            if look.border == "dotted":
                draw.ellipse(_circle(*path[first], w / 2), fill=look.colour)
            else:
                last = bisect.bisect_right(along, k * period + 3 * w)
                draw.line(path[first:last], fill=look.colour, width=round(w), joint="curve")

    return paint


# --- Layout -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    """Lines of text of one size and weight, one under another."""

    lines: tuple[_Line, ...]

    @property
    def pitch(self) -> int:
        return max(line.height for line in self.lines)

    @property
    def height(self) -> int:
        return self.pitch * len(self.lines)

    def draw(
        self, draw: ImageDraw.ImageDraw, x: float, top: float, fill: tuple, *, centre_in: int = 0
    ) -> None:
        """Draw with the first line's box at (x, top); each line centred in `centre_in` px
        from x if given, else starting at x."""
        for n, line in enumerate(self.lines):
            left = x + (centre_in - line.width) / 2 if centre_in else x
            _draw_line(draw, line, left, top + n * self.pitch + line.ascent, fill)


def _block(
    text: str,
    language: str,
    max_width: int,
    px: tuple[int, int],
    *,
    bold: bool = False,
    max_lines: int = 1,
) -> _Block:
    size, lines = fit_text(
        text, language=language, max_width=max_width, px=px, bold=bold, max_lines=max_lines
    )
    faces = _FACES[language]
    return _Block(tuple(_shape(line, size, bold, faces, RAQM) for line in lines))


@dataclass(frozen=True)
class _Geometry:
    """Sizes in px of one card size's parts; font sizes as (largest, smallest)."""

    band: int  # the brand band at the top, its dark bottom edge included
    mark: int
    brand_px: int
    tagline_px: tuple[int, int]
    margin: int  # left and right, and between the band and the content
    heading_px: tuple[int, int]
    name_px: tuple[int, int]
    status_px: tuple[int, int]
    verified_px: tuple[int, int]
    caption_px: tuple[int, int]
    icon: int
    badge_pad: int
    border: int
    radius: int
    qr: int  # the QR code's side, quiet zone included, at most
    gap: int  # between the blocks of the main column


_GEOMETRY = {
    CardSize.LINK_PREVIEW: _Geometry(
        band=100,
        mark=56,
        brand_px=40,
        tagline_px=(26, 20),
        margin=56,
        heading_px=(22, 18),
        name_px=(52, 34),
        status_px=(60, 40),
        verified_px=(28, 22),
        caption_px=(24, 18),
        icon=112,
        badge_pad=28,
        border=6,
        radius=18,
        qr=236,
        gap=18,
    ),
    CardSize.SQUARE: _Geometry(
        band=132,
        mark=72,
        brand_px=52,
        tagline_px=(32, 24),
        margin=72,
        heading_px=(28, 22),
        name_px=(68, 44),
        status_px=(76, 48),
        verified_px=(34, 26),
        caption_px=(36, 26),
        icon=140,
        badge_pad=36,
        border=8,
        radius=24,
        qr=250,
        gap=24,
    ),
}


def _qr_code(url: str, max_side: int) -> Image.Image:
    """`url` as a QR code (error correction M or better, quiet zone of 4 modules) in a
    greyscale image at most `max_side` px across, dark modules 0, light 255, each module a
    whole number of pixels. Raises ValueError if that leaves fewer than 4 px a module."""
    code = segno.make(url, error="m", micro=False)
    modules = code.symbol_size(scale=1, border=4)[0]
    scale = max_side // modules
    if scale < 4:
        raise ValueError(
            f"share_url is too long for a QR code a phone can read from the card "
            f"({len(url)} characters)"
        )
    light = bytes(
        255 if not dark else 0 for row in code.matrix_iter(scale=1, border=4) for dark in row
    )
    image = Image.frombytes("L", (modules, modules), light)
    return image.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)


def _paste(
    canvas: Image.Image,
    x: float,
    y: float,
    width: int,
    height: int,
    background: tuple,
    paint: _Paint,
) -> None:
    canvas.paste(_antialiased(width, height, background, paint), (round(x), round(y)))


def _draw_band(
    canvas: Image.Image, draw: ImageDraw.ImageDraw, text: CardText, language: str, g: _Geometry
) -> None:
    width = canvas.width
    edge = max(4, g.band // 20)
    draw.rectangle((0, 0, width, g.band - edge), fill=BRAND)
    draw.rectangle((0, g.band - edge, width, g.band), fill=BRAND_DARK)
    middle = (g.band - edge) / 2
    _paste(
        canvas,
        g.margin,
        middle - g.mark / 2,
        g.mark,
        g.mark,
        BRAND,
        lambda d, s: _brand_mark(d, s * g.mark / 32),
    )
    brand = _block("KYVS", "en", width, (g.brand_px, g.brand_px), bold=True)
    x = g.margin + g.mark + g.mark // 4
    brand.draw(draw, x, middle - brand.height / 2, WHITE)
    x += brand.lines[0].width + g.mark // 3
    divider = tuple(round(0.45 * 255 + 0.55 * c) for c in BRAND)
    draw.line((x, middle - g.mark * 0.35, x, middle + g.mark * 0.35), fill=divider, width=2)
    x += g.mark // 3
    tagline = _block(text.tagline, language, round(width - g.margin - x), g.tagline_px)
    tagline.draw(draw, x, middle - tagline.height / 2, WHITE)


def _badge_height(status: _Block, g: _Geometry) -> int:
    return 2 * g.badge_pad + max(g.icon, status.height)


def _draw_badge(
    canvas,
    draw,
    status_code: VaccinationStatus,
    status: _Block,
    x: float,
    top: float,
    width: int,
    g: _Geometry,
) -> None:
    look = _LOOKS[status_code]
    height = _badge_height(status, g)
    _paste(
        canvas,
        x,
        top,
        width,
        height,
        WHITE,
        _badge_panel(status_code, width, height, g.border, g.radius),
    )
    icon_unit = g.icon / 48
    _paste(
        canvas,
        x + g.badge_pad,
        top + (height - g.icon) / 2,
        g.icon,
        g.icon,
        look.background,
        lambda d, s: _status_icon(status_code)(d, s * icon_unit),
    )
    status.draw(
        draw,
        x + g.badge_pad + g.icon + g.badge_pad * 0.8,
        top + (height - status.height) / 2,
        look.colour,
    )


def _scaled(g: _Geometry, factor: float) -> _Geometry:
    def size(px: tuple[int, int]) -> tuple[int, int]:
        return (round(px[0] * factor), round(px[1] * factor))

    return dataclasses.replace(
        g,
        heading_px=size(g.heading_px),
        name_px=size(g.name_px),
        status_px=size(g.status_px),
        verified_px=size(g.verified_px),
        icon=round(g.icon * factor),
        badge_pad=round(g.badge_pad * factor),
        gap=round(g.gap * factor),
    )


@dataclass(frozen=True)
class _Column:
    """The main column: heading, first name (if any), badge, "Verified by KYVS on …"."""

    parts: tuple[tuple[str, _Block], ...]
    g: _Geometry

    @property
    def height(self) -> int:
        heights = [_badge_height(b, self.g) if k == "badge" else b.height for k, b in self.parts]
        return sum(heights) + self.g.gap * (len(heights) - 1)

    def draw(self, canvas, draw, x: float, top: float, width: int, status) -> None:
        y = top
        for kind, block in self.parts:
            if kind == "badge":
                _draw_badge(canvas, draw, status, block, x, y, width, self.g)
                y += _badge_height(block, self.g)
            else:
                block.draw(draw, x, y, INK if kind == "name" else INK_SOFT)
                y += block.height
            y += self.g.gap


def _column(text: CardText, language: str, width: int, max_height: float, g: _Geometry) -> _Column:
    """The main column at its geometry's sizes or, if that is taller than `max_height`, at
    the largest of 90 %, 80 %, … 60 % of them that is not."""
    for factor in (1, 0.9, 0.8, 0.7, 0.6):
        scaled = _scaled(g, factor)
        status_width = width - 2 * scaled.badge_pad - scaled.icon - round(scaled.badge_pad * 0.8)
        parts = [("heading", _block(text.heading, language, width, scaled.heading_px, bold=True))]
        if text.first_name:
            name = _block(text.first_name, language, width, scaled.name_px, bold=True)
            parts.append(("name", name))
        status = _block(
            text.status, language, status_width, scaled.status_px, bold=True, max_lines=2
        )
        parts.append(("badge", status))
        verified = _block(text.verified, language, width, scaled.verified_px, max_lines=2)
        parts.append(("verified", verified))
        column = _Column(tuple(parts), scaled)
        if column.height <= max_height:
            break
    return column


def _draw_qr(canvas: Image.Image, qr: Image.Image, x: float, y: float) -> None:
    box = (round(x), round(y), round(x) + qr.width, round(y) + qr.height)
    canvas.paste(WHITE, box)
    canvas.paste(INK, box, Image.eval(qr, lambda v: 255 - v))


def _qr_panel(
    draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], g: _Geometry
) -> None:
    draw.rounded_rectangle(box, g.radius, fill=PAPER, outline=LINE, width=2)


def _compose_link_preview(
    canvas, draw, text: CardText, language: str, status, url: str, g: _Geometry
) -> None:
    """Brand band on top; the main column on the left; the QR code and its caption in a
    panel on the right, both centred in the height below the band."""
    width, height = canvas.size
    top, bottom = g.band + g.margin * 0.6, height - g.margin * 0.6
    qr = _qr_code(url, g.qr)
    pad = g.margin * 0.4
    panel_width = qr.width + 2 * pad
    caption = _block(text.caption, language, round(panel_width - pad), g.caption_px, max_lines=2)
    panel_height = 2 * pad + qr.height + pad * 0.6 + caption.height
    panel_x, panel_y = width - g.margin - panel_width, (top + bottom - panel_height) / 2
    _qr_panel(draw, (panel_x, panel_y, panel_x + panel_width, panel_y + panel_height), g)
    _draw_qr(canvas, qr, panel_x + pad, panel_y + pad)
    caption.draw(
        draw,
        panel_x,
        panel_y + pad + qr.height + pad * 0.6,
        INK_SOFT,
        centre_in=round(panel_width),
    )
    width = round(panel_x - g.margin * 1.8)
    column = _column(text, language, width, bottom - top, g)
    column.draw(canvas, draw, g.margin, (top + bottom - column.height) / 2, width, status)


def _compose_square(
    canvas, draw, text: CardText, language: str, status, url: str, g: _Geometry
) -> None:
    """Brand band on top; the QR code with its caption beside it in a panel at the foot; the
    main column, full width, centred in the height between them."""
    width, height = canvas.size
    qr = _qr_code(url, g.qr)
    pad = g.margin * 0.4
    panel = (
        g.margin,
        height - g.margin - qr.height - 2 * pad,
        width - g.margin,
        height - g.margin,
    )
    _qr_panel(draw, panel, g)
    _draw_qr(canvas, qr, panel[0] + pad, panel[1] + pad)
    caption_x = panel[0] + 2.5 * pad + qr.width
    caption = _block(
        text.caption, language, round(panel[2] - pad - caption_x), g.caption_px, max_lines=3
    )
    caption.draw(draw, caption_x, (panel[1] + panel[3] - caption.height) / 2, INK)
    top, bottom = g.band + g.margin * 0.6, panel[1] - g.margin * 0.6
    width = width - 2 * g.margin
    column = _column(text, language, width, bottom - top, g)
    column.draw(canvas, draw, g.margin, (top + bottom - column.height) / 2, width, status)


_COMPOSE = {CardSize.LINK_PREVIEW: _compose_link_preview, CardSize.SQUARE: _compose_square}


def render_card(
    *,
    status: int,
    language: str,
    checked_on: date,
    first_name: str | None,
    share_url: str,
    size: CardSize,
) -> bytes:
    """The share card as PNG bytes: an RGB image of `size.value` (width, height) px.

    `status` is the vaccination status code (0, 1, 2); `language` "en", "gu" or "hi";
    `checked_on` the local date the citizen's status was checked; `first_name` is drawn only
    if given (None or blank: no name); `share_url` the absolute http(s) URL of the card's
    share page, drawn as a QR code.

    The PNG holds only the image (IHDR, IDAT and IEND chunks): no text chunks, no EXIF, no
    time stamp. The same arguments give the same bytes.

    Raises ValueError for a bad status, language or share_url (also one too long for a QR
    code that a phone reads from the card), UndrawableText (a ValueError) for a first name
    with characters the card's fonts lack, TypeError for a datetime as checked_on, and
    ImproperlyConfigured when Pillow cannot shape text with Raqm (see the module's doc).
    """
    if not features.check_feature("raqm"):
        raise ImproperlyConfigured(
            "Pillow's Raqm layout is not available, so Gujarati and Hindi would be drawn "
            "wrongly: install FriBiDi (Debian: libfribidi0), which Pillow loads at run time."
        )
    if not isinstance(size, CardSize):
        raise ValueError(f"size must be a CardSize, not {size!r}")
    parts = urlsplit(share_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"share_url must be an absolute http(s) URL, not {share_url!r}")
    text = card_text(
        status=status, language=language, checked_on=checked_on, first_name=first_name
    )
    canvas = Image.new("RGB", size.value, WHITE)
    draw = ImageDraw.Draw(canvas)
    geometry = _GEOMETRY[size]
    _draw_band(canvas, draw, text, language, geometry)
    _COMPOSE[size](canvas, draw, text, language, VaccinationStatus(status), share_url, geometry)
    png = io.BytesIO()
    canvas.save(png, format="PNG")
    return png.getvalue()
