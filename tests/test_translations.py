"""The Gujarati and Hindi catalogs: complete, compiled, and what a citizen actually sees.

The .po files are read with a small parser of our own and the .mo files with the standard
library, so the checks run on a machine without GNU gettext (where the shipped .mo files
are all there is).
"""

import ast
import gettext
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import django
import pytest
from django.apps import apps
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import trans_real

from tests.providers.helpers import apply
from verification.models import VaccinationStatus
from verification.services import start_verification

LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]

# DESIGN.md's status table, word for word.
STATUS_LABELS = {
    "gu": {
        VaccinationStatus.NOT_VACCINATED: "રસીકરણ થયું નથી",
        VaccinationStatus.PARTIALLY_VACCINATED: "આંશિક રસીકરણ થયું છે",
        VaccinationStatus.FULLY_VACCINATED: "સંપૂર્ણ રસીકરણ થયું છે",
    },
    "hi": {
        VaccinationStatus.NOT_VACCINATED: "टीकाकरण नहीं हुआ",
        VaccinationStatus.PARTIALLY_VACCINATED: "आंशिक टीकाकरण हुआ है",
        VaccinationStatus.FULLY_VACCINATED: "पूर्ण टीकाकरण हुआ है",
    },
}


@dataclass
class Entry:
    line: int
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    def __str__(self) -> str:
        return f"line {self.line}: {self.msgid!r}"


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")$')


def _unquote(text: str) -> str:
    # PO strings use C escapes, which Python's string literal syntax covers.
    return ast.literal_eval(text)


def parse_po(path: Path) -> list[Entry]:
    """Every live entry of a .po file, the header included; obsolete (#~) entries skipped."""
    entries: list[Entry] = []
    current: Entry | None = None
    flags: set[str] = set()
    target: tuple[str, int | None] | None = None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            assert current is not None and target is not None, f"{path}:{number}: stray string"
            keyword, index = target
            if keyword == "msgstr":
                current.msgstr[index or 0] += _unquote(line)
            else:
                setattr(current, keyword, getattr(current, keyword) + _unquote(line))
            continue
        match = _KEYWORD.match(line)
        assert match, f"{path}:{number}: cannot read {raw!r}"
        keyword, index, value = match.group(1), match.group(2), _unquote(match.group(3))
        starts_entry = keyword == "msgctxt" or (
            keyword == "msgid" and (current is None or current.msgstr)
        )
        if starts_entry:
            current = Entry(line=number, flags=flags)
            entries.append(current)
            flags = set()
        assert current is not None
        if keyword == "msgstr":
            position = int(index) if index is not None else 0
            assert position == len(current.msgstr), f"{path}:{number}: msgstr out of order"
            current.msgstr.append(value)
            target = ("msgstr", position)
        else:
            setattr(current, keyword, value)
            target = (keyword, None)
    return entries


# The project's catalogs, and the Django admin's words for the registry's staff (Django has
# no Gujarati admin catalogue and gaps in its Hindi one), which Django finds as the
# `admin_i18n` app's own catalogue.
CATALOG_DIRS = {
    "project": Path(settings.LOCALE_PATHS[0]),
    "admin": Path(apps.get_app_config("admin_i18n").path) / "locale",
}
CATALOGS = [(catalog, language) for catalog in CATALOG_DIRS for language in LANGUAGES]


def po_path(language: str, catalog: str = "project") -> Path:
    return CATALOG_DIRS[catalog] / language / "LC_MESSAGES" / "django.po"


def messages(language: str, catalog: str = "project") -> list[Entry]:
    return [entry for entry in parse_po(po_path(language, catalog)) if not entry.is_header]


def header(language: str, catalog: str = "project") -> tuple[Entry, dict[str, str]]:
    entry = next(e for e in parse_po(po_path(language, catalog)) if e.is_header)
    fields = dict(line.split(":", 1) for line in entry.msgstr[0].splitlines() if ":" in line)
    return entry, {name.strip(): value.strip() for name, value in fields.items()}


# Python's %-formatting (what blocktranslate turns {{ variables }} into), str.format
# fields and HTML tags (not the <placeholders> of help texts): a translation must carry
# exactly the same ones as its source.
_PLACEHOLDER = re.compile(
    r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|%%"
    r"|\{[^{}\s]*\}"
    r"|</?(?:a|abbr|b|br|code|em|i|kbd|small|span|strong)\b[^<>]*>"
)


def placeholders(text: str) -> list[str]:
    return sorted(_PLACEHOLDER.findall(text))


@pytest.mark.parametrize("language", LANGUAGES)
def test_django_accepts_the_language_because_its_catalog_exists(language):
    # Django ships no Gujarati catalog, so without ours LocaleMiddleware ignores "gu".
    assert trans_real.check_for_language(language)


@pytest.mark.parametrize(
    ("language", "status", "label"),
    [
        (lang, status, label)
        for lang, labels in STATUS_LABELS.items()
        for status, label in labels.items()
    ],
)
def test_it_names_each_status_exactly_as_the_design_says(language, status, label):
    with translation.override(language):
        assert str(VaccinationStatus(status).label) == label


@pytest.mark.parametrize(("catalog", "language"), CATALOGS)
def test_the_catalog_header_names_the_language_and_its_plural_rule(catalog, language):
    entry, fields = header(language, catalog)
    assert "fuzzy" not in entry.flags, "msgfmt ignores a fuzzy header, charset and all"
    assert fields["Language"] == language
    assert fields["Content-Type"] == "text/plain; charset=UTF-8"
    assert fields["Plural-Forms"].startswith("nplurals=2;")


@pytest.mark.parametrize(("catalog", "language"), CATALOGS)
def test_every_message_is_translated(catalog, language):
    entries = messages(language, catalog)
    untranslated = [str(e) for e in entries if not e.msgstr or not all(e.msgstr)]
    assert untranslated == []


@pytest.mark.parametrize(("catalog", "language"), CATALOGS)
def test_no_translation_is_left_fuzzy(catalog, language):
    # A fuzzy entry is left out of the .mo: the page would show English.
    assert [str(e) for e in messages(language, catalog) if "fuzzy" in e.flags] == []


@pytest.mark.parametrize(("catalog", "language"), CATALOGS)
def test_plural_messages_have_both_forms(catalog, language):
    wrong = [
        str(e)
        for e in messages(language, catalog)
        if e.msgid_plural is not None and len(e.msgstr) != 2
    ]
    assert wrong == []


@pytest.mark.parametrize(("catalog", "language"), CATALOGS)
def test_every_translation_keeps_the_placeholders_and_tags_of_its_source(catalog, language):
    wrong = []
    for entry in messages(language, catalog):
        sources = [entry.msgid] if entry.msgid_plural is None else [entry.msgid_plural] * 2
        for source, translated in zip(sources, entry.msgstr, strict=False):
            if placeholders(source) != placeholders(translated):
                wrong.append(f"{entry}: {placeholders(source)} → {placeholders(translated)}")
    assert wrong == []


@pytest.mark.parametrize(("catalog", "language"), CATALOGS)
def test_the_compiled_catalog_says_what_the_po_file_says(catalog, language):
    """Catches a .po edited without running compilemessages: the .mo is what Django reads."""
    mo = po_path(language, catalog).with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run compilemessages"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in messages(language, catalog):
        if entry.msgid_plural is None:
            expected = [entry.msgstr[0]]
            if entry.msgctxt is None:
                got = [compiled.gettext(entry.msgid)]
            else:
                got = [compiled.pgettext(entry.msgctxt, entry.msgid)]
        else:
            expected = entry.msgstr
            if entry.msgctxt is None:
                got = [compiled.ngettext(entry.msgid, entry.msgid_plural, n) for n in (1, 2)]
            else:
                got = [
                    compiled.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
                    for n in (1, 2)
                ]
        if got != expected:
            stale.append(str(entry))
    assert stale == []


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_choosing_a_language_shows_the_sign_in_page_in_it(client, language):
    login = reverse("login")
    response = client.post(reverse("set_language"), {"language": language, "next": login})
    assert response.status_code == 302

    page = client.get(login).content.decode()

    with translation.override(language):
        sign_in = translation.gettext("Sign in")
        forgotten = translation.gettext("Forgotten your password?")
    assert sign_in != "Sign in"
    assert f'<html lang="{language}">' in page
    assert sign_in in page
    assert forgotten in page
    assert "Forgotten your password?" not in page


@pytest.mark.django_db
def test_the_sign_in_page_stays_in_english_without_a_choice(client):
    page = client.get(reverse("login")).content.decode()

    assert '<html lang="en">' in page
    assert "Forgotten your password?" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "purpose", "validity"),
    [("gu", "મુસાફરી", "3 મિનિટ"), ("hi", "यात्रा", "3 मिनट")],
)
def test_the_otp_sms_is_sent_in_the_language_of_the_screen(
    language, purpose, validity, organisation, bob, asha, sms_outbox, settings
):
    settings.KYVS_OTP_TTL_SECONDS = 180

    with translation.override(language):
        start_verification(
            organisation=organisation,
            operator=bob,
            full_name=asha.name,
            mobile=asha.mobile,
            purpose="travel",
        )

    (sms,) = sms_outbox
    assert re.search(r"\bOTP \d{6}\b", sms.body)
    assert organisation.name in sms.body
    assert purpose in sms.body
    assert validity in sms.body
    assert "share" not in sms.body


# Django's own messages (kyvs/django_messages.py): Django ships no Gujarati catalog, so ours
# carries them, and ours also wins over Django's Hindi.

DJANGO_MESSAGES = Path(settings.BASE_DIR) / "kyvs" / "django_messages.py"
_MARKERS = {"gettext_noop", "ngettext_lazy", "pgettext_lazy"}


def marked_django_messages() -> list[tuple[str | None, str]]:
    """(context, msgid) of every message kyvs/django_messages.py marks."""
    marked = []
    for node in ast.walk(ast.parse(DJANGO_MESSAGES.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in _MARKERS:
            args = [arg.value for arg in node.args]
            marked.append(
                (args[0], args[1]) if node.func.id == "pgettext_lazy" else (None, args[0])
            )
    return marked


def test_the_django_messages_we_translate_are_django_s_own():
    """A msgid copied with one character wrong (a straight apostrophe for Django's curly one)
    would be translated in our catalog and never looked up."""
    django_dir = Path(django.__file__).parent
    # The English catalogs are Django's source catalogs: every msgid of the release.
    catalogs = [
        django_dir / "conf" / "locale" / "en" / "LC_MESSAGES" / "django.po",
        django_dir / "contrib" / "auth" / "locale" / "en" / "LC_MESSAGES" / "django.po",
    ]
    known = {(e.msgctxt, e.msgid) for catalog in catalogs for e in parse_po(catalog)}
    marked = marked_django_messages()
    assert len(marked) > 50
    assert [m for m in marked if m not in known] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_django_message_we_mark_is_in_our_catalog(language):
    ours = {(e.msgctxt, e.msgid) for e in messages(language)}
    assert [m for m in marked_django_messages() if m not in ours] == []


def choose_language(client, language: str) -> None:
    response = client.post(reverse("set_language"), {"language": language, "next": "/"})
    assert response.status_code == 302


def in_language(language: str, msgid: str) -> str:
    with translation.override(language):
        translated = translation.gettext(msgid)
    assert translated != msgid, f"{msgid!r} is not translated into {language}"
    return translated


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_django_s_field_errors_on_our_application_form_are_in_the_language(client, language):
    choose_language(client, language)

    response = apply(client, contact_name="", email="meera-at-navrang")

    assert response.status_code == 200
    page = response.content.decode()
    assert in_language(language, "This field is required.") in page
    assert in_language(language, "Enter a valid email address.") in page
    assert "This field is required." not in page
    assert "Enter a valid email address." not in page


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_django_s_password_rules_on_our_application_form_are_in_the_language(client, language):
    choose_language(client, language)

    page = apply(client, password1="20261127", password2="20261127").content.decode()

    assert in_language(language, "This password is entirely numeric.") in page
    assert "This password is entirely numeric." not in page


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_failed_sign_in_is_explained_in_the_language(client, bob, language):
    choose_language(client, language)

    response = client.post(reverse("login"), {"username": "bob", "password": "not-his-password"})

    page = response.content.decode()
    message = in_language(
        language,
        "Please enter a correct %(username)s and password. Note that both fields may be "
        "case-sensitive.",
    ) % {"username": in_language(language, "username")}
    assert message in page
    assert "Please enter a correct" not in page


TEMPLATE_DATE_FORMATS = sorted(
    {
        match.group(1)
        for template in (Path(settings.BASE_DIR) / "templates").rglob("*.html")
        for match in re.finditer(r"""\|date:["']([^"']+)["']""", template.read_text("utf-8"))
    }
    - {"c"}  # ISO 8601, for machines: <time datetime="...">
)


def test_our_templates_date_formats_are_found():
    assert "j M Y" in TEMPLATE_DATE_FORMATS


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("date_format", [*TEMPLATE_DATE_FORMATS, None])
def test_dates_show_their_month_in_the_language(language, date_format):
    """Each format of our templates, and the language's default (a date shown without
    one), for every month: no Latin letter left."""
    filter_ = "" if date_format is None else f"|date:{date_format!r}"
    template = Template("{{ when" + filter_ + " }}")
    for month in range(1, 13):
        when = timezone.make_aware(datetime(2026, month, 27, 14, 5, 9))
        with translation.override(language):
            shown = template.render(Context({"when": when if date_format else when.date()}))
        assert not re.search(r"[A-Za-z]", shown), f"{language} {date_format!r}: {shown}"


@pytest.mark.parametrize(("language", "shown"), [("gu", "27 નવે 2026"), ("hi", "27 नव॰ 2026")])
def test_a_receipt_s_validity_date_reads_naturally(language, shown):
    template = Template('{{ when|date:"j M Y" }}')
    with translation.override(language):
        assert template.render(Context({"when": date(2026, 11, 27)})) == shown
