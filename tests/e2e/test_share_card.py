"""The share card's text is shaped as a browser shapes it.

Each status word is drawn by verification.share_card (Pillow with Raqm/HarfBuzz) and by
Chromium from a tiny page using the same font files at the same size. Both are cut to their
ink, laid over each other by their top-left corners, and each one's ink must lie within one
pixel of the other's (hinting and anti-aliasing differ by about a pixel). A wrongly shaped
word — a vowel sign on the wrong side of its consonant, a conjunct drawn as separate letters
with a virama, a reph not raised above the line — moves ink by many pixels and fails; the
second test shows that Pillow's basic layout, which does no shaping, fails this comparison.
"""

import base64
from io import BytesIO

import pytest
from django.utils import translation
from PIL import Image, ImageChops, ImageFilter, ImageFont

from verification import share_card
from verification.models import VaccinationStatus

pytestmark = pytest.mark.browser

PX = 64
# Measured here: 0.994 or more with Raqm for every word (most 1.0); Pillow's basic layout
# scores 0.57 for the Indic "fully vaccinated" words, whose conjuncts and reph it cannot form.
THRESHOLD = 0.98
LANGUAGES = ["en", "gu", "hi"]


def status_words(language: str) -> list[str]:
    with translation.override(language):
        return [str(status.label) for status in VaccinationStatus]


def page_for(text: str, language: str) -> str:
    """A page drawing `text` in the card's bold font for `language` (each language's status
    words are all in its own script)."""
    font = (share_card._FONT_DIR / share_card._FACES[language][0].bold).read_bytes()
    return (
        f'<!doctype html><html lang="{language}"><meta charset="utf-8"><style>'
        f'@font-face {{ font-family: "card"; '
        f"src: url(data:font/ttf;base64,{base64.b64encode(font).decode()}); }}"
        f"body {{ margin: 0; background: #fff; }}"
        f'#word {{ display: inline-block; padding: {PX}px; font: {PX}px/2 "card"; '
        f"color: #000; white-space: pre; }}</style><span id=word>{text}</span>"
    )


def ink(drawn: Image.Image) -> Image.Image:
    """The dark pixels (below half grey) of `drawn`, white on black, cut to their box."""
    dark = Image.eval(drawn.convert("L"), lambda v: 255 if v < 128 else 0)
    return dark.crop(dark.getbbox())


def within(a: Image.Image, b: Image.Image, pixels: int) -> float:
    """The share of a's ink that lies within `pixels` of b's ink."""
    near_b = b.filter(ImageFilter.MaxFilter(2 * pixels + 1))
    inked = a.histogram()[255]
    return ImageChops.multiply(a, near_b).histogram()[255] / inked


def likeness(pillow: Image.Image, chromium: Image.Image) -> float:
    """How far two ink images agree: the smaller of the two shares of ink lying within one
    pixel of the other's ink, the images placed by their top-left corners."""
    size = (max(pillow.width, chromium.width), max(pillow.height, chromium.height))
    a, b = Image.new("L", size), Image.new("L", size)
    a.paste(pillow)
    b.paste(chromium)
    return min(within(a, b, 1), within(b, a, 1))


def chromium_ink(page, text: str, language: str) -> Image.Image:
    page.set_content(page_for(text, language))
    # Without the card's font loaded, the browser would draw with some font of the system.
    families = page.evaluate(
        "async text => (await document.fonts.load(getComputedStyle(word).font, text))"
        ".filter(face => face.status === 'loaded').map(face => face.family)",
        text,
    )
    assert [family.strip('"') for family in families] == ["card"], families
    return ink(Image.open(BytesIO(page.locator("#word").screenshot())))


def pillow_ink(text: str, language: str, layout=share_card.RAQM) -> Image.Image:
    return ink(share_card.render_text(text, language=language, px=PX, bold=True, layout=layout))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_status_words_are_shaped_as_chromium_shapes_them(page, language):
    for text in status_words(language):
        score = likeness(pillow_ink(text, language), chromium_ink(page, text, language))

        assert score >= THRESHOLD, (text, score)


@pytest.mark.parametrize("language", ["gu", "hi"])
def test_the_comparison_fails_text_that_is_not_shaped(page, language):
    basic = ImageFont.Layout.BASIC
    scores = {
        text: likeness(pillow_ink(text, language, basic), chromium_ink(page, text, language))
        for text in status_words(language)
    }

    assert min(scores.values()) < THRESHOLD - 0.2, scores
