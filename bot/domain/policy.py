"""Is this reply allowed to go out? PURE: text and settings in, a list of violations out.

`check_reply` is run on every reply before it can be sent (bot.desk.send.start_send) and by the
drafting modal to show problems early. An empty list means "allowed". It checks, in order:

- the network has a reply channel at all (RSS items and web pages do not);
- the text is not empty;
- it fits the network's limit, counted the network's way (bot.domain.limits); on Bluesky also the
  3,000-byte limit of the post record;
- X: since 2026-02-24, X lets an account reply programmatically only to a post that mentions or
  quotes it. A reply to any other post is refused here, before any call to X;
- `policy.banned_phrases`: case-insensitive, whole words ("guarantee" does not match
  "guaranteed"; a phrase matches across any run of spaces);
- `policy.block_personal_data`: payment card numbers (13–19 digits that pass the Luhn check,
  alone or printed in card groups inside a longer run such as "4111 1111 1111 1111 12/26"),
  IBANs (the country's length and the ISO 13616 mod-97 check), account numbers named as such
  ("account no. 12345678", "sort code 20-00-00"), e-mail addresses, and phone numbers
  (E.164 `+…`, `00…`, national numbers with a trunk `0`, and North American `(415) 555-2671` /
  `415-555-2671`).

Personal data means someone's personal data, so two things are deliberately not flagged: role
mailboxes (support@, help@, press@, … — a company's addresses, not a person's) and toll-free
service numbers (0800/0808, 1-800/888/877/866/855/844/833, 1300/1800): the desk's replies
routinely give them. Numbers that only resemble phone or card numbers are not flagged either:
times (10:45), prices ($120, €1,200.50), dates (2026-11-23, 23.11.2026), flight and order
codes (NW123, #12345678), and digit runs without a checksum or a phone's shape.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from bot.domain.limits import (
    BLUESKY_MAX_BYTES,
    NoReplyChannel,
    reply_length,
    reply_limit,
    utf8_length,
)
from bot.domain.rules.schema import Brand, Policy

ViolationCode = Literal["no_reply_channel", "empty", "too_long", "x_not_mentioned",
                        "banned_phrase", "personal_data"]


@dataclass(frozen=True, slots=True)
class Violation:
    code: ViolationCode
    message: str  # for people: shown in the modal and as the ephemeral refusal
    start: int | None = None  # where in the text, when it is one place
    end: int | None = None


def check_reply(text: str, *, network: str, mention_mentions_brand: bool, brand: Brand,
                policy: Policy, max_chars: int | None = None) -> list[Violation]:
    """Every reason `text` may not be sent as a reply on `network`; [] when it may.

    `mention_mentions_brand`: whether the post being answered mentions or quotes the brand
    (`Mention.mentions_brand`). `max_chars` overrides the network's limit (a Mastodon
    instance's own)."""
    try:
        limit, unit = reply_limit(network, max_chars=max_chars)
    except NoReplyChannel:
        return [Violation("no_reply_channel",
                          f"{_network_name(network)} has no reply channel: answer where the "
                          "post was published, then mark the mention as handled elsewhere")]
    out: list[Violation] = []
    if network == "x" and not mention_mentions_brand:
        handle = f"@{brand.x_username}" if brand.x_username else brand.name
        out.append(Violation("x_not_mentioned",
                             f"X only allows replies to posts that mention {handle}: this post "
                             "does not mention or quote the brand, so reply from the X app "
                             "or mark the mention as handled elsewhere"))
    if not text.strip():
        out.append(Violation("empty", "The reply is empty"))
        return out
    length = reply_length(network, text)
    if length > limit:
        out.append(Violation("too_long", f"{length}/{limit} {unit}: {length - limit} too many "
                             f"for {_network_name(network)}"))
    if network == "bluesky" and utf8_length(text) > BLUESKY_MAX_BYTES:
        out.append(Violation("too_long", f"{utf8_length(text)}/{BLUESKY_MAX_BYTES} bytes: "
                             "Bluesky also limits a post to 3,000 bytes of UTF-8 (long emoji "
                             "sequences use many)"))
    out.extend(banned_phrases(text, policy.banned_phrases))
    if policy.block_personal_data:
        out.extend(personal_data(text))
    return out


def _network_name(network: str) -> str:
    return {"x": "X", "mastodon": "Mastodon", "bluesky": "Bluesky", "rss": "An RSS item",
            "reddit": "Reddit",
            "youtube": "YouTube",
            "google_play": "Google Play",
            "facebook": "Facebook",
            "app_store": "The App Store",
            "instagram": "Instagram",
            "threads": "Threads",
            }.get(
        network, network or "This source")


# --- banned phrases ------------------------------------------------------------------------

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def _fold(text: str) -> str:
    """Compatibility forms and typographic quotes folded, so "ｇｕａｒａｎｔｅｅ" and "don’t" match;
    length-preserving for the positions reported (NFKC may change lengths, so only per char)."""
    return "".join(unicodedata.normalize("NFKC", ch) if len(unicodedata.normalize("NFKC", ch))
                   == 1 else ch for ch in text).translate(_QUOTES)


def _phrase_pattern(phrase: str) -> re.Pattern[str] | None:
    words = _fold(phrase).split()
    if not words:
        return None
    body = r"\s+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def banned_phrases(text: str, phrases: list[str]) -> list[Violation]:
    folded = _fold(text)
    out = []
    for phrase in phrases:
        pattern = _phrase_pattern(phrase)
        m = pattern.search(folded) if pattern else None
        if m:
            out.append(Violation("banned_phrase",
                                 f'"{text[m.start():m.end()]}" is a banned phrase '
                                 f'(policy.banned_phrases: "{phrase}")', m.start(), m.end()))
    return out


# --- personal data -------------------------------------------------------------------------

def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# IBAN length per country (ISO 13616 registry). An unknown country code is not an IBAN.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}


def iban_valid(iban: str) -> bool:
    """Country length and the mod-97 check (ISO 7064) of a compact IBAN."""
    iban = iban.upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit() \
            or not iban.isalnum() or not iban.isascii():
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


# A run of digit groups; the card number is the whole run or, in a longer run ("4111 1111 1111
# 1111 12/26"), a window of groups laid out the way cards are printed.
_DIGIT_RUN = re.compile(r"(?<![\w+.,/$€£¥])\d+(?:[ -]\d+)*(?![\w%]|[.,]\d)")
CARD_GROUPINGS = ((4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4))
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,31}")
_ACCOUNT = re.compile(
    r"\b(?:account|acct|a/c|sort[ -]?code|routing|bsb)\b\.?(?:\s*(?:no\.?|number|num\.?|#))?"
    r"\s*[:#]?\s*(\d(?:[ -]?\d){5,})", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+@-])([\w.%+-]+)@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,})")
# A run of digits with phone-style separators; its shape is judged in `_is_phone`.
_PHONE = re.compile(r"(?<![\w$€£¥.,/:#@-])(\+|00)?\s?(\(?\d[\d ().\-]{5,}\d)(?![\w%]|[.,:/]\d)")
ROLE_MAILBOXES = frozenset({
    "info", "support", "help", "helpdesk", "care", "customercare", "customerservice",
    "service", "contact", "hello", "team", "press", "media", "news", "pr", "privacy", "dpo",
    "complaints", "feedback", "sales", "marketing", "billing", "accounts", "abuse", "security",
    "postmaster", "hostmaster", "webmaster", "noreply", "no-reply", "social", "careers", "jobs",
})
_TOLL_FREE = re.compile(r"^(?:0800|0808|1800|1300|(?:1)?8(?:00|88|77|66|55|44|33))")


def _masked(digits: str) -> str:
    return f"…{digits[-4:]}"


def _card_numbers(text: str) -> list[Violation]:
    out = []
    for m in _DIGIT_RUN.finditer(text):
        groups = [(g.start(), g.end()) for g in re.finditer(r"\d+", m.group(0))]
        candidates = [(0, len(groups))]  # the whole run
        for i in range(len(groups)):
            for layout in CARD_GROUPINGS:
                window = groups[i:i + len(layout)]
                if len(window) == len(layout) and len(groups) > len(layout) and all(
                        e - s == n for (s, e), n in zip(window, layout, strict=True)):
                    candidates.append((i, i + len(layout)))
        for first, last in candidates:
            start, end = m.start() + groups[first][0], m.start() + groups[last - 1][1]
            digits = re.sub(r"\D", "", text[start:end])
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                out.append(Violation("personal_data",
                                     f"Looks like a payment card number ({_masked(digits)}): "
                                     "never post card numbers", start, end))
                break
    return out


def _ibans(text: str) -> list[Violation]:
    out = []
    for m in _IBAN.finditer(text):
        raw = m.group(0)
        want = IBAN_LENGTHS.get(raw[:2].upper())
        if want is None:
            continue
        # The pattern runs on into following words; the IBAN is its first `want` characters,
        # and must end where a word ends.
        count, end = 0, m.start()
        for i, ch in enumerate(raw):
            if ch != " ":
                count += 1
            if count == want:
                end = m.start() + i + 1
                break
        if count != want or (end < len(text) and text[end].isalnum()):
            continue
        compact = text[m.start():end].replace(" ", "")
        if iban_valid(compact):
            out.append(Violation("personal_data",
                                 f"Looks like an IBAN ({compact[:2].upper()}{_masked(compact)}): "
                                 "never post account numbers", m.start(), end))
    return out


def _account_numbers(text: str) -> list[Violation]:
    return [Violation("personal_data",
                      f"Looks like an account number ({_masked(re.sub(r'[^0-9]', '', m.group(1)))})"
                      ": never post account numbers", m.start(1), m.end(1))
            for m in _ACCOUNT.finditer(text)]


def _emails(text: str) -> list[Violation]:
    out = []
    for m in _EMAIL.finditer(text):
        local = m.group(1).lower()
        if local in ROLE_MAILBOXES or local.split("+")[0] in ROLE_MAILBOXES:
            continue
        out.append(Violation("personal_data",
                             f"Contains an e-mail address ({m.group(0)}): a person's address "
                             "must not be posted publicly; ask them to DM", m.start(), m.end()))
    return out


_DATE = re.compile(r"^(?:\d{4}[-.]\d{1,2}[-.]\d{1,2}|\d{1,2}[-.]\d{1,2}[-.]\d{2,4})$")
_NANP = re.compile(r"^(?:\(\d{3}\)\s?|\d{3}[-. ])\d{3}[-. ]\d{4}$")


def _is_phone(prefix: str | None, body: str) -> bool:
    digits = re.sub(r"\D", "", body)
    if body.count("(") != body.count(")") or _DATE.match(body.strip()):
        return False
    if prefix:  # +44 20 7946 0958, 0044 20 7946 0958: E.164 is at most 15 digits
        return 8 <= len(digits) <= 15 and not _toll_free_intl(digits)
    if _NANP.match(body.strip()):  # (415) 555-2671, 415-555-2671, 415.555.2671
        return not _TOLL_FREE.match(digits)
    if digits.startswith("0") and not digits.startswith("00"):
        # national numbers with a trunk 0: 020 7946 0958, 07700 900123, 06 12 34 56 78
        return 10 <= len(digits) <= 12 and not _TOLL_FREE.match(digits)
    return False


def _toll_free_intl(digits: str) -> bool:
    """+1 800…, +44 800/808…, +61 1300/1800… (digits after the + or 00)."""
    return bool(re.match(r"^(?:1(?:800|888|877|866|855|844|833)|44(?:800|808)|61(?:1300|1800))",
                         digits))


def _phones(text: str) -> list[Violation]:
    out = []
    for m in _PHONE.finditer(text):
        prefix, body = m.group(1), m.group(2).rstrip(" .-(")
        if _is_phone(prefix, body):
            digits = re.sub(r"\D", "", body)
            out.append(Violation("personal_data",
                                 f"Looks like a phone number ({_masked(digits)}): a person's "
                                 "number must not be posted publicly; ask them to DM",
                                 m.start(), m.start() + len(m.group(0).rstrip(" .-("))))
    return out


def personal_data(text: str) -> list[Violation]:
    """Personal data found in `text`, each place once (a card number is not also a phone)."""
    found: list[Violation] = []
    taken: list[tuple[int, int]] = []
    for detector in (_card_numbers, _ibans, _account_numbers, _emails, _phones):
        for v in detector(text):
            assert v.start is not None and v.end is not None
            if any(v.start < e and s < v.end for s, e in taken):
                continue
            taken.append((v.start, v.end))
            found.append(v)
    return sorted(found, key=lambda v: v.start or 0)
