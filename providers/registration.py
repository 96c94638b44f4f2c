"""Indian registration numbers an applying organisation gives, and the states they are in.

Three kinds are accepted:

- **CIN**, the Corporate Identity Number of the Ministry of Corporate Affairs: 21 characters,
  e.g. ``L17110MH1973PLC019786`` — listed (L) or unlisted (U), a 5-digit industry code, the
  2-letter state code, the year of incorporation, a 3-letter ownership code (PLC, PTC, GOI,
  ...) and a 6-digit serial.
- **GSTIN**, the Goods and Services Tax Identification Number: 15 characters, e.g.
  ``24AAACC1206D1ZM`` — a 2-digit GST state code, the holder's PAN, an entity number, ``Z``
  and a check character (the mod-36 checksum of the GST network).
- **Government office code**, KYVS's own format for offices that have neither:
  ``GOV-<state>-<department>-<number>``, e.g. ``GOV-GJ-HEALTH-0042``: the 2-letter state or
  UT code of the table below, a department abbreviation of 2 to 8 letters, and the office's
  4- to 6-digit number as given in its letter of authority.

Numbers are compared in their normal form: upper case, without spaces.
"""

import re
import unicodedata

from django.db import models
from django.utils.translation import gettext_lazy as _

from kyvs.text import ascii_digits, without_invisible


class IndianState(models.TextChoices):
    """States and union territories, by their ISO 3166-2:IN code."""

    AN = "AN", _("Andaman and Nicobar Islands")
    AP = "AP", _("Andhra Pradesh")
    AR = "AR", _("Arunachal Pradesh")
    AS = "AS", _("Assam")
    BR = "BR", _("Bihar")
    CH = "CH", _("Chandigarh")
    CT = "CT", _("Chhattisgarh")
    DH = "DH", _("Dadra and Nagar Haveli and Daman and Diu")
    DL = "DL", _("Delhi")
    GA = "GA", _("Goa")
    GJ = "GJ", _("Gujarat")
    HR = "HR", _("Haryana")
    HP = "HP", _("Himachal Pradesh")
    JK = "JK", _("Jammu and Kashmir")
    JH = "JH", _("Jharkhand")
    KA = "KA", _("Karnataka")
    KL = "KL", _("Kerala")
    LA = "LA", _("Ladakh")
    LD = "LD", _("Lakshadweep")
    MP = "MP", _("Madhya Pradesh")
    MH = "MH", _("Maharashtra")
    MN = "MN", _("Manipur")
    ML = "ML", _("Meghalaya")
    MZ = "MZ", _("Mizoram")
    NL = "NL", _("Nagaland")
    OR = "OR", _("Odisha")
    PY = "PY", _("Puducherry")
    PB = "PB", _("Punjab")
    RJ = "RJ", _("Rajasthan")
    SK = "SK", _("Sikkim")
    TN = "TN", _("Tamil Nadu")
    TG = "TG", _("Telangana")
    TR = "TR", _("Tripura")
    UP = "UP", _("Uttar Pradesh")
    UT = "UT", _("Uttarakhand")
    WB = "WB", _("West Bengal")


class RegistrationKind(models.TextChoices):
    CIN = "cin", _("Corporate Identity Number (CIN)")
    GSTIN = "gstin", _("GST Identification Number (GSTIN)")
    GOVERNMENT = "gov", _("Government office code")


CIN_RE = re.compile(r"[LU][0-9]{5}[A-Z]{2}(19|20)[0-9]{2}[A-Z]{3}[0-9]{6}")
GSTIN_RE = re.compile(r"([0-9]{2})[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]")
GOVERNMENT_RE = re.compile(r"GOV-([A-Z]{2})-[A-Z]{2,8}-[0-9]{4,6}")

# GST state codes: 01-38 for the states and UTs, 97 "other territory", 99 "centre".
GST_STATE_CODES = {f"{n:02d}" for n in range(1, 39)} | {"97", "99"}
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def normalise(number: str) -> str:
    """Upper case, without white space or invisible marks, fullwidth letters and digits of
    any script as ASCII (NFKC, then kyvs.text.ascii_digits): "l17110mh１９７３plc019786"
    and "L17110MH1973PLC019786" are one number."""
    text = unicodedata.normalize("NFKC", without_invisible(number))
    return "".join(ascii_digits(text).split()).upper()


def gstin_check_character(first14: str) -> str:
    """The GST network's check character: digits and letters as base-36 values, every second
    one doubled, each product's base-36 digits summed."""
    total = 0
    for index, char in enumerate(first14):
        product = _BASE36.index(char) * (2 if index % 2 else 1)
        total += product // 36 + product % 36
    return _BASE36[(36 - total % 36) % 36]


def is_valid(kind: str, number: str) -> bool:
    """Whether `number` (already normalised) has the format of its kind."""
    if kind == RegistrationKind.CIN:
        return bool(CIN_RE.fullmatch(number))
    if kind == RegistrationKind.GSTIN:
        match = GSTIN_RE.fullmatch(number)
        return bool(
            match
            and match.group(1) in GST_STATE_CODES
            and gstin_check_character(number[:14]) == number[14]
        )
    if kind == RegistrationKind.GOVERNMENT:
        match = GOVERNMENT_RE.fullmatch(number)
        return bool(match and match.group(1) in IndianState.values)
    return False


EXAMPLES = {
    RegistrationKind.CIN: "L17110MH1973PLC019786",
    RegistrationKind.GSTIN: "24AAACC1206D1ZM",
    RegistrationKind.GOVERNMENT: "GOV-GJ-HEALTH-0042",
}
