"""Text as people paste and type it, made comparable: digits of any script, invisible marks.

No database and no request: rules only. Every parser of an identifier (a mobile, a
reference id, an OTP, a second-factor code) starts here, so that all of them accept and
refuse alike whatever the entry point.
"""

import unicodedata


def ascii_digits(text: str) -> str:
    """`text` with every decimal digit of any script (Unicode category Nd: Gujarati ૯,
    Devanagari ९, Arabic-Indic ٩, fullwidth ９, ...) replaced by its ASCII digit."""
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.digit(char)) if unicodedata.category(char) == "Nd" else char
        for char in text
    )


def without_invisible(text: str) -> str:
    """`text` without invisible formatting characters (Unicode category Cf: the
    left-to-right mark phones add when copying a number, zero-width spaces and joiners,
    the byte order mark)."""
    if text.isascii():
        return text
    return "".join(char for char in text if unicodedata.category(char) != "Cf")


def plain_digits(text: str) -> str:
    """What a field of digits holds once read as a person meant it: invisible marks
    dropped, digits made ASCII, white space (also inside: "166 045") removed."""
    return "".join(ascii_digits(without_invisible(text)).split())
