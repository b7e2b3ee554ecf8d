"""Extended grapheme clusters (Unicode UAX #29): what Bluesky and Mastodon count. PURE.

`graphemes()` is an implementation of the extended grapheme cluster
rules of Unicode UAX #29 built on `unicodedata` instead of a new dependency. It covers what
replies contain: CR LF, combining marks (categories Mn, Me, Mc), variation selectors, emoji
modifiers (skin tones), emoji ZWJ sequences, tag sequences (subdivision flags), regional
indicator pairs (flags), Hangul syllables and jamo, and the Arabic prepended concatenation
marks. It approximates two things, both documented where they are decided: which code points
are Extended_Pictographic (the emoji blocks and the symbol ranges emoji come from, not the
exact property list), and it does not implement Unicode 15.1's Indic conjunct rule (GB9c), so
a Devanagari conjunct such as "क्ष" counts 2 where a 15.1 segmenter says 1: over-counting,
which errs on the side of a reply the network accepts.
"""

from __future__ import annotations

import unicodedata

# --- grapheme clusters (UAX #29, extended) ----------------------------------------------

_CR, _LF, _CONTROL, _EXTEND, _ZWJ, _RI, _PREPEND, _SPACING, _L, _V, _T, _LV, _LVT, _PICT, \
    _OTHER = range(15)

_ZWJ_CHAR = 0x200D
_PREPEND_CPS = frozenset({0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F,
                          0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD})
# Extended_Pictographic, approximated by ranges: the emoji blocks wholesale and the BMP symbols
# emoji are drawn from (©, ®, ‼, ⁉, ™, arrows, ⌚, ⏩…, ▪, ☀…➿, ⤴, ⬅…, 〰, ㊗, ㊙).
_PICT_RANGES = (
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049),
    (0x2122, 0x2122), (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA),
    (0x231A, 0x231B), (0x2328, 0x2328), (0x2388, 0x2388), (0x23CF, 0x23CF),
    (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x24C2, 0x24C2), (0x25AA, 0x25AB),
    (0x25B6, 0x25B6), (0x25C0, 0x25C0), (0x25FB, 0x25FE), (0x2600, 0x27BF),
    (0x2934, 0x2935), (0x2B05, 0x2B07), (0x2B1B, 0x2B1C), (0x2B50, 0x2B50),
    (0x2B55, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D), (0x3297, 0x3297),
    (0x3299, 0x3299), (0x1F000, 0x1F0FF), (0x1F10D, 0x1F10F), (0x1F12F, 0x1F12F),
    (0x1F16C, 0x1F171), (0x1F17E, 0x1F17F), (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A),
    (0x1F1AD, 0x1F1E5), (0x1F201, 0x1F20F), (0x1F21A, 0x1F21A), (0x1F22F, 0x1F22F),
    (0x1F232, 0x1F23A), (0x1F23C, 0x1F23F), (0x1F249, 0x1F3FA), (0x1F400, 0x1F53D),
    (0x1F546, 0x1F64F), (0x1F680, 0x1F6FF), (0x1F774, 0x1F77F), (0x1F7D5, 0x1F7FF),
    (0x1F80C, 0x1F80F), (0x1F848, 0x1F84F), (0x1F85A, 0x1F85F), (0x1F888, 0x1F88F),
    (0x1F8AE, 0x1F8FF), (0x1F90C, 0x1F93A), (0x1F93C, 0x1F945), (0x1F947, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
)


def is_pictographic(cp: int) -> bool:
    """Extended_Pictographic, by the ranges above (emoji start with one)."""
    return any(lo <= cp <= hi for lo, hi in _PICT_RANGES)


def _hangul(cp: int) -> int | None:
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return _L
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return _V
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return _T
    if 0xAC00 <= cp <= 0xD7A3:
        return _LV if (cp - 0xAC00) % 28 == 0 else _LVT
    return None


def _break_class(ch: str) -> int:
    cp = ord(ch)
    if cp == 0x0D:
        return _CR
    if cp == 0x0A:
        return _LF
    if cp == _ZWJ_CHAR:
        return _ZWJ
    if 0x1F1E6 <= cp <= 0x1F1FF:
        return _RI
    if (0x1F3FB <= cp <= 0x1F3FF  # emoji modifiers (skin tones)
            or 0xE0020 <= cp <= 0xE007F  # tags (subdivision flags)
            or cp == 0x200C  # ZWNJ
            or 0xFF9E <= cp <= 0xFF9F):  # halfwidth katakana voiced sound marks
        return _EXTEND
    if cp in _PREPEND_CPS:
        return _PREPEND
    hangul = _hangul(cp)
    if hangul is not None:
        return hangul
    if cp in (0x0E33, 0x0EB3):  # Thai and Lao SARA AM: letters (Lo) that are SpacingMark
        return _SPACING
    cat = unicodedata.category(ch)
    if cat in ("Mn", "Me"):  # combining marks, variation selectors FE00-FE0F, E0100-E01EF
        return _EXTEND
    if cat == "Mc":
        return _SPACING
    if cat in ("Cc", "Zl", "Zp") or (cat == "Cf" and cp not in (0x200C, _ZWJ_CHAR)):
        return _CONTROL
    if is_pictographic(cp):
        return _PICT
    return _OTHER


def _joins(prev: int, cur: int, pict_zwj: bool, ri_odd: bool) -> bool:
    """No break between two characters of these classes (UAX #29 GB3–GB13)."""
    if prev == _CR and cur == _LF:  # GB3
        return True
    if prev in (_CR, _LF, _CONTROL) or cur in (_CR, _LF, _CONTROL):  # GB4, GB5
        return False
    if prev == _L and cur in (_L, _V, _LV, _LVT):  # GB6
        return True
    if prev in (_LV, _V) and cur in (_V, _T):  # GB7
        return True
    if prev in (_LVT, _T) and cur == _T:  # GB8
        return True
    if cur in (_EXTEND, _ZWJ, _SPACING):  # GB9, GB9a
        return True
    if prev == _PREPEND:  # GB9b
        return True
    if prev == _ZWJ and cur == _PICT and pict_zwj:  # GB11
        return True
    return prev == _RI and cur == _RI and ri_odd  # GB12, GB13


def graphemes(text: str) -> list[str]:
    """`text` split into user-perceived characters (extended grapheme clusters)."""
    clusters: list[str] = []
    start = 0
    prev: int | None = None
    in_pict = False  # inside ExtPict Extend* (ZWJ)?  — GB11's left context
    pict_zwj = False  # the previous character is a ZWJ that follows ExtPict Extend*
    ri_run = 0  # regional indicators in a row, just before the current character
    for i, ch in enumerate(text):
        cur = _break_class(ch)
        if prev is not None and not _joins(prev, cur, pict_zwj, ri_run % 2 == 1):
            clusters.append(text[start:i])
            start = i
        pict_zwj = cur == _ZWJ and in_pict
        in_pict = cur == _PICT or (in_pict and cur == _EXTEND)
        ri_run = ri_run + 1 if cur == _RI else 0
        prev = cur
    if start < len(text):
        clusters.append(text[start:])
    return clusters


def grapheme_count(text: str) -> int:
    return len(graphemes(text))
