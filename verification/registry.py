"""The registry's rules that need no database: normalising names, and the status rule.
Mobile numbers are kyvs/mobile.py's. Models and services build on these; nothing here
imports a model."""

import unicodedata
from dataclasses import dataclass
from datetime import date


def normalise_name(name: str) -> str:
    """The form in which names are compared: NFKC, casefolded, punctuation and symbols as
    spaces, invisible format characters (such as the zero-width joiners of Indic scripts)
    dropped, runs of spaces collapsed.

    "  Dr. RAVI  kumar " and "dr ravi kumar" compare equal; so do a name typed with a
    precomposed character and the same name typed with a combining mark.
    """
    text = unicodedata.normalize("NFKC", name).casefold()
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
