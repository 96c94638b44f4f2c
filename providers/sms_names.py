"""An organisation's SMS display name: how citizens' phones name it in the SMS that carries
their code. No database and no request: rules only.

Indian operators deliver only SMS that match a template registered on their DLT (Distributed
Ledger Technology) platform under TRAI's TCCCPR 2018, and a template's variable ({#var#})
holds at most 30 characters. An organisation's registered name (up to 200 characters, any
text) would not fit, and free text on citizens' phones is a phishing surface. So each
organisation has a short name of its own, given when it applies and approved (or changed)
by the registry admin, and every SMS uses it.

What it may hold: at most MAX_LENGTH characters of English letters A-Z and a-z, digits 0-9,
single spaces and & . - with at least one letter. Letters of other scripts (Gujarati,
Devanagari) are left out on purpose:

- every character of this set is in the GSM 03.38 basic alphabet, so an English OTP SMS stays
  one 160-character part; a single Gujarati letter would make it UCS-2 (70 characters a part);
- one small alphabet leaves no room for look-alike letters from other scripts (a Cyrillic
  "а" in place of a Latin "a") that would let one organisation pass for another, and lets
  the registry admin read and compare every name;
- the Gujarati and Hindi templates carry the same variable: a Latin organisation name in
  them is how brand names usually appear in Indian SMS.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAX_LENGTH = 30
_CHARACTERS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789&.- ")
_SHAPE = re.compile(r"[A-Za-z0-9&.\-]+( [A-Za-z0-9&.\-]+)*")
# Left off the ends of a name cut to length: "Shah & Sons" cut to "Shah &" becomes "Shah".
_DANGLING = " &-"


def normalise_sms_name(value: str) -> str:
    """`value` as typed, with its spaces collapsed to single ones and trimmed."""
    return " ".join(value.split())


def validate_sms_name(value: str) -> None:
    """ValidationError unless `value` is a valid SMS display name (see above)."""
    if len(value) > MAX_LENGTH:
        raise ValidationError(
            _("Use at most %(max)d characters."), code="max_length", params={"max": MAX_LENGTH}
        )
    if not _SHAPE.fullmatch(value):
        raise ValidationError(
            _("Use only English letters, digits, single spaces and the signs & . -"),
            code="characters",
        )
    if not any(char.isalpha() for char in value):
        raise ValidationError(_("Include at least one letter."), code="no_letter")


def sms_name_from(text: str) -> str:
    """A valid SMS display name made from `text` (a registered name): accents taken off
    letters (é to e), every other character outside the set made a space, spaces collapsed,
    cut to MAX_LENGTH characters at the end of a word (or inside a first word longer than
    that), dangling "&" and "-" left off. "" when no letter is left."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        char if char in _CHARACTERS else " "
        for char in decomposed
        if not unicodedata.combining(char)
    )
    name = ""
    for word in kept.split():
        longer = f"{name} {word}" if name else word
        if len(longer) > MAX_LENGTH:
            name = name or word[:MAX_LENGTH]
            break
        name = longer
    name = name.strip(_DANGLING)
    return name if any(char.isalpha() for char in name) else ""
