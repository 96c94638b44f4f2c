"""The registry admin in Gujarati and Hindi: Django's own admin words in both
(admin_i18n/locale), KYVS's fonts, and a language switch on every admin page."""

import gettext
from pathlib import Path

import django
import pytest
from django.utils import translation

from tests.test_translations import messages, parse_po, po_path

CONTRIB = Path(django.__file__).parent / "contrib"
ADMIN_LOCALE = CONTRIB / "admin" / "locale"
# django.contrib.auth's words on the admin's Users and Groups pages and its front page.
AUTH_WORDS = {"Authentication and Authorization", "users", "groups", "Personal info", "username"}


def django_msgids(app: str) -> set[str]:
    source = CONTRIB / app / "locale" / "en" / "LC_MESSAGES" / "django.po"
    return {e.msgid for e in parse_po(source) if not e.is_header}


def django_admin_msgids() -> set[str]:
    return django_msgids("admin")


@pytest.mark.parametrize("language", ["gu", "hi"])
def test_every_word_of_ours_is_one_of_the_django_admin_s_or_auth_s(language):
    ours = {e.msgid for e in messages(language, "admin")}
    assert ours <= django_admin_msgids() | django_msgids("auth")


def test_gujarati_has_every_word_of_the_django_admin_and_auth_s_on_its_pages():
    ours = {e.msgid for e in messages("gu", "admin")}
    assert django_admin_msgids() <= ours
    assert AUTH_WORDS.issubset(ours)


def test_hindi_has_every_word_of_the_django_admin_between_django_s_catalogue_and_ours():
    with (ADMIN_LOCALE / "hi" / "LC_MESSAGES" / "django.mo").open("rb") as handle:
        djangos = gettext.GNUTranslations(handle)
    ours = {e.msgid for e in messages("hi", "admin")}
    # A .mo holds only translated entries; a plural one is keyed (msgid, n).
    translated = {key[0] if isinstance(key, tuple) else key for key in djangos._catalog}
    missing = [msgid for msgid in django_admin_msgids() if msgid not in ours | translated]
    assert missing == []
    assert po_path("hi", "admin").with_suffix(".mo").exists()


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("gu", ["શોધો", "બધાં ફિલ્ટર કાઢો", "સાચવો અને બીજું ઉમેરો", "બદલવા માટે %s પસંદ કરો"]),
        ("hi", ["सहेजें और देखें", "सभी फ़िल्टर हटाएँ", "देखने के लिए %s चुनें", "मेरी कार्रवाइयाँ"]),
    ],
)
def test_django_finds_the_admin_words(language, words):
    sources = ["Search", "Clear all filters", "Save and add another", "Select %s to change"]
    if language == "hi":
        sources = ["Save and view", "Clear all filters", "Select %s to view", "My actions"]
    with translation.override(language):
        assert [translation.gettext(s) for s in sources] == words


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("gu", ["શોધો", "ચલાવો", "મુખ્ય પાનું", "ઓળખ અને પરવાનગીઓ"]),
        ("hi", ["खोज", "मुख्य पेज", "पहचान और अनुमतियाँ"]),
    ],
)
def test_the_registry_admin_reads_the_admin_in_the_chosen_language(
    client, registry_admin, organisation, language, words
):
    client.force_login(registry_admin)
    client.cookies["django_language"] = language

    page = client.get("/admin/providers/organisation/").content.decode()

    assert f'<html lang="{language}"' in page
    for word in words:
        assert word in page
    # KYVS's Gujarati and Devanagari faces, and the language switch, on the admin's pages.
    assert "/static/css/fonts.css" in page and "/static/css/admin.css" in page
    switch = page.split('class="kyvs-language"')[1].split("</form>")[0]
    assert 'action="/i18n/setlang/"' in page
    for name in ("English", "ગુજરાતી", "हिन्दी"):
        assert f">{name}</option>" in switch
