"""Indian mobile numbers: the one parser every entry point uses (forms, the API, the import).

No database and no request: the rule alone.
"""

import re
import unicodedata

MOBILE_RE = re.compile(r"^[6-9][0-9]{9}$")
_SEPARATORS = re.compile(r"[\s\-().]+")


class InvalidMobile(ValueError):
    """The text is not an Indian mobile number."""


def normalise_mobile(mobile: str) -> str:
    """The 10-digit form of an Indian mobile number (leading 6-9), or InvalidMobile.

    Accepts +91, 91 or 0 in front, spaces, hyphens, dots and brackets, and digits of any
    script (a number typed in Gujarati or Devanagari digits is the same number).
    """
    digits = []
    for char in _SEPARATORS.sub("", mobile.strip()):
        if char == "+" and not digits:
            digits.append("+")
        elif unicodedata.category(char) == "Nd":
            digits.append(str(unicodedata.digit(char)))
        else:
            raise InvalidMobile(mobile)
    number = "".join(digits)
    if number.startswith("+"):
        if not number.startswith("+91"):
            raise InvalidMobile(mobile)
        number = number[3:]
    elif len(number) == 12 and number.startswith("91"):
        number = number[2:]
    elif len(number) == 11 and number.startswith("0"):
        number = number[1:]
    if not MOBILE_RE.match(number):
        raise InvalidMobile(mobile)
    return number


def is_normalised(mobile: str) -> bool:
    """Whether `mobile` is already the 10-digit form `normalise_mobile` returns."""
    return bool(MOBILE_RE.match(mobile))


def mask_mobile(mobile: str) -> str:
    """Only the last four digits, which is what a customer needs to recognise the number."""
    return "•" * 6 + mobile[-4:]
