"""Language tags as BCP 47 (`en`, `en-US`, `zh-Hant-TW`, `es-419`), or None.

Networks and feeds say a post's language in many ways: `en_US`, `EN-us`, `English (United
States)` (an RSS `<language>` written by hand), `eng`, or garbage. The mention's `lang` column
is 16 characters and the rules' `lang` conditions compare tags, so ingest keeps only what reads
as a BCP 47 tag (language, optional script, optional region; case fixed the standard's way)
and drops the rest: a language we cannot name is better unknown (the detector then decides)
than a poll that cannot be stored.
"""

from __future__ import annotations

import re

MAX_LENGTH = 16  # mention.lang

# language[-Script][-REGION|-419] after `_` → `-`; private-use and variants are dropped.
_TAG = re.compile(r"^([A-Za-z]{2,3})(?:-([A-Za-z]{4}))?(?:-([A-Za-z]{2}|\d{3}))?(?:-.*)?$")

# English names a hand-written feed puts in `<language>`: the common ones, by ISO 639-1 code.
_NAMES = {
    "english": "en", "french": "fr", "francais": "fr", "français": "fr", "spanish": "es",
    "espanol": "es", "español": "es", "german": "de", "deutsch": "de", "portuguese": "pt",
    "português": "pt", "italian": "it", "italiano": "it", "dutch": "nl", "swahili": "sw",
    "arabic": "ar", "russian": "ru", "chinese": "zh", "japanese": "ja", "korean": "ko",
    "hindi": "hi", "polish": "pl", "turkish": "tr", "swedish": "sv", "norwegian": "no",
    "danish": "da", "finnish": "fi", "greek": "el", "hebrew": "he", "indonesian": "id",
}


def bcp47(value: object) -> str | None:
    """`value` as a BCP 47 tag of at most MAX_LENGTH characters, else None."""
    if not isinstance(value, str):
        return None
    text = value.strip().replace("_", "-")
    if not text:
        return None
    match = _TAG.match(text)
    if match is None:
        # "English (United States)", "english": the language's name, its region dropped.
        name = re.split(r"[\s(,;/-]", text.lower(), maxsplit=1)[0]
        code = _NAMES.get(name)
        return code
    language, script, region = match.groups()
    parts = [language.lower()]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    tag = "-".join(parts)
    return tag if len(tag) <= MAX_LENGTH else None


def primary(value: object) -> str | None:
    """The language subtag alone (`en-US` → `en`), or None."""
    tag = bcp47(value)
    return tag.split("-")[0] if tag else None
