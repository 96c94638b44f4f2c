"""The citizen's share card: sizes, words, QR code, no metadata, names that fit, sameness.

How the Indic words are shaped is compared with Chromium in tests/e2e/test_share_card.py.
"""

import struct
import unicodedata
import zlib
from datetime import date, datetime
from io import BytesIO
from itertools import groupby
from statistics import median

import pytest
import zxingcpp
from django.core.exceptions import ImproperlyConfigured
from PIL import Image, ImageChops

from verification import share_card
from verification.share_card import CardSize, UndrawableText, card_text, fit_text, render_card

URL = "https://kyvs.example/share/3f2a9c7e-1b2d-4c5e-8f9a-0b1c2d3e4f5a"
DAY = date(2026, 12, 5)
LANGUAGES = ["en", "gu", "hi"]
SIZES = list(CardSize)

# The status words of /work/shared/DESIGN.md's table, by code and language.
DESIGN_WORDS = {
    0: {"en": "Not vaccinated", "gu": "રસીકરણ થયું નથી", "hi": "टीकाकरण नहीं हुआ"},
    1: {"en": "Partially vaccinated", "gu": "આંશિક રસીકરણ થયું છે", "hi": "आंशिक टीकाकरण हुआ है"},
    2: {"en": "Fully vaccinated", "gu": "સંપૂર્ણ રસીકરણ થયું છે", "hi": "पूर्ण टीकाकरण हुआ है"},
}
NAMES = {"en": "Asha", "gu": "હર્ષિદા", "hi": "क्षितिज"}
LONG_NAMES = {
    "en": "Venkatanarasimharajuvaripeta Srinivasaraghavan Ramaswamy Iyengar",
    "gu": "પ્રિયદર્શિનીકૃષ્ણસ્વામીપ્રજાપતિહર્ષવર્ધનશ્રીનિવાસ ત્રિવેદી",
    "hi": "श्रीविद्याशंकरनारायणमूर्तिकृष्णप्रसादविश्वनाथनलक्ष्मीनारायणस्वामी",
}
STATUS_COLOURS = {
    2: (0x0E, 0x6E, 0x38),
    1: (0x7A, 0x4F, 0x00),
    0: (0xA3, 0x26, 0x1B),
}


def card(**given) -> bytes:
    arguments = dict(
        status=2, language="en", checked_on=DAY, first_name=None, share_url=URL, size=SIZES[0]
    )
    arguments.update(given)
    return render_card(**arguments)


def image(png: bytes) -> Image.Image:
    return Image.open(BytesIO(png))


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """The chunks of a PNG file as (type, data), read by the format's own rules."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        chunks.append((kind, data))
        at += 12 + length
    return chunks


def decoded_qr(png: bytes) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(image(png), formats=zxingcpp.BarcodeFormat.QRCode)


def test_the_card_speaks_every_language_the_portal_does(settings):
    assert set(share_card.LANGUAGES) == {code for code, _name in settings.LANGUAGES}


@pytest.mark.parametrize("size", SIZES)
def test_it_draws_each_size_as_an_rgb_png_of_its_pixel_size(size):
    drawn = image(card(size=size))

    assert drawn.format == "PNG"
    assert drawn.mode == "RGB"
    assert drawn.size == size.value
    assert CardSize.LINK_PREVIEW.value == (1200, 630)
    assert CardSize.SQUARE.value == (1080, 1080)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("status", [0, 1, 2])
def test_the_status_words_are_the_designs_in_each_language(status, language):
    text = card_text(status=status, language=language, checked_on=DAY, first_name=None)

    assert text.status == DESIGN_WORDS[status][language]


@pytest.mark.parametrize(
    ("language", "day"),
    [("en", "5 December 2026"), ("gu", "5 ડિસેમ્બર 2026"), ("hi", "5 दिसंबर 2026")],
)
def test_the_date_is_day_month_year_with_the_month_named_in_the_cards_language(language, day):
    text = card_text(status=2, language=language, checked_on=DAY, first_name=None)

    assert day in text.verified
    assert "KYVS" in text.verified


def test_the_english_card_says_who_verified_it_and_when():
    text = card_text(status=2, language="en", checked_on=DAY, first_name=None)

    assert text.verified == "Verified by KYVS on 5 December 2026"
    assert text.caption == "Scan to check this card"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES)
def test_the_qr_code_on_the_card_reads_back_as_the_share_url(size, language):
    png = card(size=size, language=language, first_name=NAMES[language], status=1)

    assert [code.text for code in decoded_qr(png)] == [URL]


def test_a_longer_share_url_still_reads_back():
    url = "https://kyvs.example/my-status/share/" + "A1b2C3d4" * 12

    for size in SIZES:
        assert [code.text for code in decoded_qr(card(size=size, share_url=url))] == [url]


@pytest.mark.parametrize("size", SIZES)
def test_the_png_holds_the_image_and_nothing_else(size):
    png = card(size=size, language="hi", first_name=NAMES["hi"])

    kinds = {kind for kind, _data in png_chunks(png)}
    assert kinds <= {b"IHDR", b"IDAT", b"IEND"}
    drawn = image(png)
    assert drawn.info == {}
    assert len(drawn.getexif()) == 0


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_first_name_is_nowhere_in_the_files_bytes(language):
    name = NAMES[language]
    png = card(language=language, first_name=name)

    pixels = b"".join(zlib.decompress(data) for kind, data in png_chunks(png) if kind == b"IDAT")
    for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
        assert name.encode(encoding) not in png
        assert name.encode(encoding) not in pixels


@pytest.mark.parametrize("size", SIZES)
def test_the_first_name_is_drawn_only_when_given(size):
    without = card(size=size, first_name=None)

    assert card(size=size, first_name="Asha") != without
    assert card(size=size, first_name="   ") == without
    assert card(size=size, first_name="") == without


def test_the_first_name_is_kept_as_typed_with_its_spaces_tidied():
    text = card_text(status=2, language="en", checked_on=DAY, first_name="  Anna   Maria ")

    assert text.first_name == "Anna Maria"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("status", [0, 1, 2])
def test_the_badge_takes_its_statuss_colour_and_no_other(status, size):
    pixels = image(card(size=size, status=status)).getcolors(maxcolors=1_000_000)
    counts = {colour: count for count, colour in pixels}

    assert counts.get(STATUS_COLOURS[status], 0) > 2_000
    for other, colour in STATUS_COLOURS.items():
        if other != status:
            assert counts.get(colour, 0) == 0


def border_runs(png: bytes, status: int) -> list[int]:
    """Lengths of the runs of the status colour along the badge's top border: the row,
    between the badge's corners, where that colour is found most."""
    drawn = image(png)
    colour = STATUS_COLOURS[status]
    mask = Image.eval(
        ImageChops.difference(drawn, Image.new("RGB", drawn.size, colour)).convert("L"),
        lambda v: 255 if v < 12 else 0,
    )
    left, top, right, _bottom = mask.getbbox()
    best: list[int] = []
    for y in range(top, top + 12):
        row = [mask.getpixel((x, y)) for x in range(left + 30, right - 30)]
        runs = [len(list(group)) for value, group in groupby(row) if value]
        if sum(runs) > sum(best):
            best = runs
    return best


@pytest.mark.parametrize("size", SIZES)
def test_the_badge_border_is_solid_dashed_or_dotted_as_on_the_result_page(size):
    solid = border_runs(card(size=size, status=2), 2)
    dashed = border_runs(card(size=size, status=1), 1)
    dotted = border_runs(card(size=size, status=0), 0)

    assert len(solid) == 1
    assert len(dashed) > 20 and len(dotted) > len(dashed)
    assert median(dashed) > 2 * median(dotted)  # dashes three border widths long, dots one


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_long_first_name_is_shrunk_then_cut_with_an_ellipsis(language):
    size, lines = fit_text(
        LONG_NAMES[language], language=language, max_width=500, px=(52, 34), bold=True
    )

    assert size == 34
    assert len(lines) == 1
    assert lines[0].endswith("…")
    drawn = share_card.render_text(lines[0], language=language, px=size, bold=True)
    assert drawn.width - 2 * size <= 500  # render_text adds a margin of one em each side


def test_a_name_that_fits_when_smaller_is_shrunk_and_not_cut():
    name = "Venkatanarasimharaju"
    size, lines = fit_text(name, language="en", max_width=500, px=(52, 34), bold=True)

    assert 34 < size < 52
    assert lines == [name]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_cut_never_splits_a_letter_from_its_vowel_sign_or_conjunct(language):
    name = LONG_NAMES[language].replace(" ", "")
    for width in range(60, 700, 9):
        (line,) = fit_text(name, language=language, max_width=width, px=(40, 40), bold=True)[1]
        kept = line.removesuffix("…")

        assert name.startswith(kept)
        if kept and kept != name:
            after = name[len(kept)]
            assert unicodedata.category(after)[0] != "M", (width, kept)
            assert unicodedata.combining(kept[-1]) != 9, (width, kept)  # no virama at the end
            assert after not in "\u200c\u200d" and kept[-1] not in "\u200c\u200d"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES)
def test_a_long_first_name_stays_in_its_column_clear_of_the_qr_code(size, language):
    short = image(card(size=size, language=language, first_name=NAMES[language]))
    long = card(size=size, language=language, first_name=LONG_NAMES[language])

    changed = ImageChops.difference(short, image(long)).getbbox()
    (qr,) = decoded_qr(long)
    qr_left = min(point.x for point in (qr.position.top_left, qr.position.bottom_left))
    qr_top = min(point.y for point in (qr.position.top_left, qr.position.top_right))
    left, top, right, bottom = changed
    assert right <= size.width - left  # no nearer the right edge than the left one
    if size is CardSize.LINK_PREVIEW:
        assert right < qr_left
    else:
        assert bottom < qr_top


def test_the_same_arguments_give_the_same_bytes():
    arguments = dict(status=1, language="gu", first_name=NAMES["gu"], size=CardSize.SQUARE)
    first = card(**arguments)
    share_card._shape.cache_clear()
    share_card._font.cache_clear()

    assert card(**arguments) == first


@pytest.mark.parametrize(
    ("language", "name"),
    [("en", "હર્ષિદા"), ("gu", "Asha"), ("hi", "Ασπασία"), ("en", "Анна"), ("gu", "क्षितिज")],
)
def test_a_name_in_another_script_that_the_fonts_have_is_drawn(language, name):
    assert share_card.can_draw(name)
    assert card(language=language, first_name=name) != card(language=language)


@pytest.mark.parametrize(
    "name",
    ["Asha 😀", "அனு", "আশা", "Asha\u202egnp", "As\u200bha", "Asha\x07"],
    ids=["emoji", "tamil", "bengali", "bidi-override", "zero-width-space", "bell"],
)
def test_a_name_the_fonts_cannot_draw_is_refused_not_drawn_as_boxes(name):
    assert not share_card.can_draw(name)
    with pytest.raises(UndrawableText):
        card(first_name=name)


def test_joiners_that_choose_indic_forms_are_allowed():
    assert share_card.can_draw("ક્\u200dષ")
    assert share_card.can_draw("र्\u200dय")


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ({"status": 3}, ValueError),
        ({"status": None}, ValueError),
        ({"language": "fr"}, ValueError),
        ({"checked_on": datetime(2026, 12, 5, 20, 0)}, TypeError),
        ({"checked_on": "2026-12-05"}, TypeError),
        ({"share_url": "kyvs.example/share/abc"}, ValueError),
        ({"share_url": "javascript:alert(1)"}, ValueError),
        ({"share_url": ""}, ValueError),
        ({"share_url": "https://kyvs.example/" + "x" * 1500}, ValueError),
        ({"size": (1200, 630)}, ValueError),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_error(given, error):
    with pytest.raises(error):
        card(**given)


def test_it_refuses_to_draw_when_pillow_cannot_shape_text(monkeypatch):
    monkeypatch.setattr(share_card.features, "check_feature", lambda feature: feature != "raqm")

    with pytest.raises(ImproperlyConfigured, match="libfribidi0"):
        card(language="gu")
