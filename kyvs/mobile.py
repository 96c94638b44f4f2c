"""Indian mobile numbers: the one parser every entry point uses (the forms, the API, the
import, the admin and the models' own fields).

No database and no request: the rule alone. Parsing is Google's libphonenumber's (the
`phonenumbers` package), which knows the ways people write a number: +91, 0091, 91 or a
trunk 0 in front, spaces, hyphens, dots and brackets, "(0)", and digits of any script.
What KYVS accepts is narrower than what it parses: DESIGN.md's rule, an Indian (+91)
number of 10 digits beginning with 6, 7, 8 or 9, and nothing else (no letters, which
libphonenumber would read as a keypad's digits, and no extension).
"""

import re
import unicodedata

import phonenumbers

from kyvs.text import ascii_digits, without_invisible

_MOBILE = re.compile(r"[6-9][0-9]{9}")
# What a written number may hold besides its digits. Anything else (letters, which
# libphonenumber would read as a keypad's digits, an extension, control characters) is not
# a mobile number.
_WRITTEN = re.compile(r"[0-9\s().+\-]+")
_INDIA = 91


class InvalidMobile(ValueError):
    """The text is not an Indian mobile number."""


def normalise_mobile(mobile: str) -> str:
    """The 10-digit form of an Indian mobile number, e.g. "0091 98250 00003" →
    "9825000003"; InvalidMobile for anything else.

    Numbers that libphonenumber's tables do not (yet) list as allocated are accepted when
    they follow the rule: the registry holds whatever numbers people registered with.
    """
    text = mobile if mobile.isascii() else unicodedata.normalize("NFKC", mobile)
    text = ascii_digits(without_invisible(text)).strip()
    if _MOBILE.fullmatch(text):  # the usual case, and every row of a registry export
        return text
    if not _WRITTEN.fullmatch(text):
        raise InvalidMobile(mobile)
    try:
        number = phonenumbers.parse(text, "IN")
    except phonenumbers.NumberParseException:
        raise InvalidMobile(mobile) from None
    national = str(number.national_number)
    if number.country_code != _INDIA or number.extension or not _MOBILE.fullmatch(national):
        raise InvalidMobile(mobile)
    return national


def is_normalised(mobile: str) -> bool:
    """Whether `mobile` is already the 10-digit form `normalise_mobile` returns."""
    return bool(_MOBILE.fullmatch(mobile))


def mask_mobile(mobile: str) -> str:
    """Only the last four digits, which is what a customer needs to recognise the number."""
    return "•" * 6 + mobile[-4:]
