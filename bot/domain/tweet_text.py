"""twitter-text v3, the parts the bot needs: URLs in a text and X's weighted length. PURE.

X counts a post with twitter-text's v3 configuration (config/v3.json of github.com/twitter/
twitter-text): the text NFC-normalised, every URL — with or without `https://` — 23, an emoji
(a whole sequence: ZWJ family, skin tone, flag, keycap) 2, a code point in 0–4351, U+2000–200D,
U+2010–201F or U+2032–2037 1, anything else (CJK…) 2. URLs are found the way twitter-text's
extractor finds them (its regular expressions, ported below); a URL without a scheme needs a
top-level domain X knows (`data/x_tlds.txt`). Emoji are grapheme clusters (`bot.domain.graphemes`)
that start with an Extended_Pictographic code point, a regional-indicator pair or a keycap
sequence, where twitter-text matches Emoji 12.0's list: the two differ only on sequences that
list does not have.

Written here because the maintained Python port (`twitter-text-parser`) imports `pkg_resources`,
which Python 3.12+ virtualenvs do not provide.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from bot.domain.graphemes import graphemes, is_pictographic

URL_WEIGHT: Final = 23
_SCALE: Final = 100
_DEFAULT_WEIGHT: Final = 200
_RANGES: Final = ((0, 4351, 100), (0x2000, 0x200D, 100), (0x2010, 0x201F, 100),
                  (0x2032, 0x2037, 100))
_MAX_URL_LENGTH: Final = 4096
_MAX_TCO_SLUG: Final = 40


@dataclass(frozen=True, slots=True)
class Url:
    url: str
    start: int  # code point offsets into the text
    end: int


# --- twitter-text's URL regular expressions (js/src/regexp/*.js), assembled -------------------
_PUNCT = r"\!'#%&'\(\)*\+,\\\-\.\/:;<=>\?@\[\]\^_{|}~\$"
_SPACES = r"\x09-\x0D\x20\x85\xA0\u1680\u180E\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_INVALID = r"\uFFFE\uFEFF\uFFFF"
_DIRECTIONAL = r"\u202A-\u202E\u061C\u200E\u200F\u2066\u2067\u2068\u2069"
_LATIN_ACCENTS = (r"\xC0-\xD6\xD8-\xF6\xF8-\xFF\u0100-\u024F\u0253\u0254\u0256\u0257\u0259"
                  r"\u025B\u0263\u0268\u026F\u0272\u0289\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF")
_CYRILLIC = r"\u0400-\u04FF"
_DOMAIN_CHAR = f"[^{_PUNCT}{_SPACES}{_INVALID}{_DIRECTIONAL}]"
_SUBDOMAIN = f"(?:(?:{_DOMAIN_CHAR}(?:[_-]|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\\.)"
_DOMAIN_NAME = f"(?:(?:{_DOMAIN_CHAR}(?:-|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\\.)"
_PUNYCODE = r"(?:xn--[\-0-9a-z]+)"
_PRECEDING = f"(?:[^A-Za-z0-9@＠$#＃{_INVALID}]|[{_DIRECTIONAL}]|^)"
_PATH_CHAR = f"[a-z{_CYRILLIC}0-9!\\*';:=\\+,\\.\\$\\/%#\\[\\]\\-\\u2013_~@\\|&{_LATIN_ACCENTS}]"
_PARENS = (f"\\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\\({_PATH_CHAR}+\\){_PATH_CHAR}*))\\)")
_PATH_END = f"(?:[\\+\\-a-z{_CYRILLIC}0-9=_#\\/{_LATIN_ACCENTS}]|(?:{_PARENS}))"
_PATH = (f"(?:(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END})"
         f"|(?:@{_PATH_CHAR}+/))")
_QUERY_CHAR = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_QUERY_END = r"[a-z0-9\-_&=#/]"
_NO_SCHEME_BAD_BEFORE = re.compile(r"[-_./]$")


@cache
def _tlds() -> str:
    text = resources.files("bot.domain").joinpath("data/x_tlds.txt").read_text("utf-8")
    names = [line.strip() for line in text.splitlines()
             if line.strip() and not line.startswith("#")]
    names.sort(key=len, reverse=True)
    return "(?:" + "|".join(re.escape(n) for n in names) + ")(?=[^0-9a-zA-Z@+-]|$)"


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    tld = _tlds()
    domain = f"(?:{_SUBDOMAIN}*{_DOMAIN_NAME}(?:{tld}|{_PUNYCODE}))"
    url = re.compile(
        f"({_PRECEDING})"  # 1: the character before
        f"((https?:\\/\\/)?"  # 2: the URL, 3: its scheme
        f"({domain})"  # 4: domain
        f"(?::([0-9]+))?"  # 5: port
        f"(\\/{_PATH}*)?"  # 6: path
        f"(\\?{_QUERY_CHAR}*{_QUERY_END})?)",  # 7: query
        re.IGNORECASE)
    ascii_domain = re.compile(
        f"(?:(?:[\\-a-z0-9{_LATIN_ACCENTS}]+)\\.)+(?:{tld}|{_PUNYCODE})", re.IGNORECASE)
    tco = re.compile(f"^https?:\\/\\/t\\.co\\/([a-z0-9]+)(?:\\?{_QUERY_CHAR}*{_QUERY_END})?",
                     re.IGNORECASE)
    return url, ascii_domain, tco


def _idna_fits(url: str, scheme: str, domain: str) -> bool:
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return bool(ascii_domain) and (
        len(scheme) + len(url) + len(ascii_domain) - len(domain) <= _MAX_URL_LENGTH)


def extract_urls(text: str, *, without_scheme: bool = True) -> list[Url]:
    """The URLs in `text`, in order, as twitter-text's `extractUrlsWithIndices` finds them.
    `without_scheme=False` keeps only those written with `http://` or `https://`."""
    if not text or ("." not in text if without_scheme else ":" not in text):
        return []
    url_re, ascii_domain_re, tco_re = _patterns()
    found: list[Url] = []
    for match in url_re.finditer(text):
        before, url, scheme, domain, _, path, _ = match.groups()
        end = match.end()
        start = end - len(url)
        if not _idna_fits(url, scheme or "https://", domain):
            continue
        if scheme is None:
            if not without_scheme or _NO_SCHEME_BAD_BEFORE.search(before):
                continue
            last: Url | None = None
            for ascii_match in ascii_domain_re.finditer(domain):
                last = Url(ascii_match.group(0), start + ascii_match.start(),
                           start + ascii_match.end())
                found.append(last)
            if last is not None and path:
                found[-1] = Url(url.replace(domain, last.url), last.start, end)
            continue
        tco = tco_re.search(url)
        if tco:
            if len(tco.group(1)) > _MAX_TCO_SLUG:
                continue
            url = tco.group(0)
            end = start + len(url)
        found.append(Url(url, start, end))
    return found


# --- weighted length ----------------------------------------------------------------------

_KEYCAP = re.compile("[0-9#*]\ufe0f?\u20e3")


def _is_emoji(cluster: str) -> bool:
    first = ord(cluster[0])
    if is_pictographic(first):
        return True
    if 0x1F1E6 <= first <= 0x1F1FF:
        return len(cluster) >= 2  # a flag: two regional indicators
    return _KEYCAP.fullmatch(cluster) is not None


def _weight(ch: str) -> int:
    cp = ord(ch)
    for lo, hi, weight in _RANGES:
        if lo <= cp <= hi:
            return weight
    return _DEFAULT_WEIGHT


def weighted_length(text: str) -> int:
    """twitter-text v3 weighted length: the count X's own composer shows (limit 280)."""
    text = re.sub(r"\r\n|\r", "\n", unicodedata.normalize("NFC", text))
    url_ends = {u.start: u.end for u in extract_urls(text)}
    emoji_ends: dict[int, int] = {}
    at = 0
    for cluster in graphemes(text):
        if _is_emoji(cluster):
            emoji_ends[at] = at + len(cluster)
        at += len(cluster)
    total = 0
    i = 0
    while i < len(text):  # twitter-text's walk: a URL, else an emoji, else one code point
        if i in url_ends:
            total += URL_WEIGHT * _SCALE
            i = url_ends[i]
        elif i in emoji_ends:
            total += _DEFAULT_WEIGHT
            i = emoji_ends[i]
        else:
            total += _weight(text[i])
            i += 1
    return total // _SCALE
