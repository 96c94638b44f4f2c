"""The registry's rules that need no database: normalising names, and the status rule.
Mobile numbers are kyvs/mobile.py's. Models and services build on these; nothing here
imports a model."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from kyvs.text import plain_digits

_REFERENCE_ID = re.compile(r"[0-9]{14}")


class InvalidReferenceId(ValueError):
    """The text is not a beneficiary reference id."""


def parse_reference_id(text: str) -> str:
    """A beneficiary reference id (14 digits, as CoWIN issued them) in ASCII digits, however
    it was typed or pasted (digits of any script, spaces, invisible marks); otherwise
    InvalidReferenceId. The one reading of a reference id: the admin, the import and the
    model's own field use it, so one person can never be stored under two spellings."""
    digits = plain_digits(text)
    if not _REFERENCE_ID.fullmatch(digits):
        raise InvalidReferenceId(text)
    return digits


# Letters that Unicode encodes twice: as one atomic character (since Unicode 5.1) and, in
# older text and keyboards, as consonant + virama + zero-width joiner. Both spellings are
# the same name. Names are compared in the consonant + virama form (the joiner is an
# invisible mark, dropped below). Sources: the Unicode Standard 15.0, section 12.9
# (Malayalam chillus, Table 12-14) and section 12.2 (Bengali khanda ta, U+09CE).
_ATOMIC_AS_SEQUENCE = str.maketrans(
    {
        "\u0d54": "\u0d2e\u0d4d",  # ൔ chillu m = മ്
        "\u0d55": "\u0d2f\u0d4d",  # ൕ chillu y = യ്
        "\u0d56": "\u0d34\u0d4d",  # ൖ chillu lll = ഴ്
        "\u0d7a": "\u0d23\u0d4d",  # ൺ chillu nn = ണ്
        "\u0d7b": "\u0d28\u0d4d",  # ൻ chillu n = ന്
        "\u0d7c": "\u0d30\u0d4d",  # ർ chillu rr = ര്
        "\u0d7d": "\u0d32\u0d4d",  # ൽ chillu l = ല്
        "\u0d7e": "\u0d33\u0d4d",  # ൾ chillu ll = ള്
        "\u0d7f": "\u0d15\u0d4d",  # ൿ chillu k = ക്
        "\u09ce": "\u09a4\u09cd",  # ৎ khanda ta = ত্
    }
)


def normalise_name(name: str) -> str:
    """The form in which names are compared: NFKC, casefolded, punctuation and symbols as
    spaces, invisible format characters (such as the zero-width joiners of Indic scripts)
    dropped, letters with a legacy encoding in one spelling (_ATOMIC_AS_SEQUENCE), runs of
    spaces collapsed.

    "  Dr. RAVI  kumar " and "dr ravi kumar" compare equal; so do a name typed with a
    precomposed character and the same name typed with a combining mark, and "അരുൺ"
    (atomic chillu) and "അരുണ്\u200d" (consonant, virama, joiner).
    """
    if name.isascii():
        # In ASCII, NFKC and the legacy spellings change nothing, casefolding is lower()
        # and nothing is invisible: the same form as _normalise_any gives, without looking
        # up each character (an import normalises every beneficiary's name).
        return " ".join(name.translate(_ASCII_AS_SPACE).lower().split())
    return _normalise_any(name)


# The ASCII characters normalise_name makes spaces: Unicode categories P, S, Z and C.
_ASCII_AS_SPACE = str.maketrans(
    {chr(code): " " for code in range(128) if unicodedata.category(chr(code))[0] in "PSZC"}
)


def _normalise_any(name: str) -> str:
    """normalise_name for text in any script, one character at a time."""
    text = unicodedata.normalize("NFKC", name).translate(_ATOMIC_AS_SEQUENCE).casefold()
    out = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cf":
            continue
        if category[0] in "PSZC":
            out.append(" ")
        else:
            out.append(char)
    # Casefolding can decompose (e.g. "ǰ"), so compose once more.
    return " ".join(unicodedata.normalize("NFKC", "".join(out)).split())


@dataclass(frozen=True)
class DoseFacts:
    is_primary: bool
    date: date
    dose_number: int
    primary_doses_required: int


def status_from_doses(doses: list[DoseFacts]) -> int:
    """0, 1 or 2 by the status rule of DESIGN.md.

    No primary dose: 0. The first primary dose's vaccine says how many primary doses make a
    person fully vaccinated (so a Covishield first dose followed by a Covaxin second counts
    2 of 2); fewer than that: 1; at least that: 2. Precaution doses never change the status.
    """
    primary = sorted((d for d in doses if d.is_primary), key=lambda d: (d.date, d.dose_number))
    if not primary:
        return 0
    if len(primary) >= primary[0].primary_doses_required:
        return 2
    return 1
