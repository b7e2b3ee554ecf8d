"""PURE scoring of one mention: sentiment, author type, risk, urgency score and priority.

No I/O. Takes a `Mention`, the `Rules` and the current time; returns an `Enrichment`.

The score is a sum of named parts (`Enrichment.score_parts`, part → points) so a card can say
*why* a mention is urgent; `score` is that sum clamped to 0..100, and `priority` is its band.
Every weight, band and cue below is data at the top of the module: a later pass tunes them on
labelled tweets without touching the code that applies them.

Sentiment starts from VADER's scores with the rules file's `sentiment.lexicon` on top; then
`bot.domain.scoring.triage` weighs them with what VADER lacks for customer care (brand address, the complaint
cues below, "again", "?", caps, "!!", a learned customer-care lexicon of words and emoji) into
the `compound` (-1..1) that is labelled at the rules file's thresholds. VADER looks words up one token at a time, so a multi-word entry ("on hold") is matched in the text
(case-insensitive, any run of whitespace between its words), its words are joined with `_`
("on_hold") and the joined form is what goes into the lexicon. One analyzer is built per
distinct lexicon and reused; the stock VADER lexicon is read once, at import.

Risk, complaint and intensifier cues are words and phrases, matched on the mention's words in
one pass (a word-level trie), which keeps the whole of `enrich` within about 2x the cost of
VADER alone.
"""

from __future__ import annotations

import copy
import math
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from bot.domain.mention import Mention
from bot.domain.rules.schema import UNKNOWN_SENTIMENT, Rules, SentimentConfig
from bot.domain.scoring import complaint, language, language_cues, multilingual, rating, triage
from bot.domain.scoring.vader import Analyzer as _Analyzer  # VADER's scores, faster


@dataclass(frozen=True, slots=True)
class Enrichment:
    compound: float  # triage valence, -1..1 (bot.domain.scoring.triage: VADER with the rules lexicon + cues)
    sentiment: str  # negative | neutral | positive
    author_type: str  # customer | press | competitor | advocate | influencer | vip | brand
    risk: tuple[str, ...]  # legal, regulatory, privacy, reputational, security, safety
    score: int  # 0..100 urgency
    priority: str  # P1..P4 from the score alone (routing may raise it)
    score_parts: dict[str, int] = field(default_factory=dict)  # why: part → points
    is_question: bool = False
    is_complaint: bool = False  # complaint_probability at or above the model's threshold
    cues: tuple[str, ...] = ()  # the complaint cues found (keys of COMPLAINT_CUES), in order
    complaint_probability: float = 0.0  # bot.domain.scoring.complaint, 0..1
    lang: str | None = None  # the network's language, else the detected one (None: too short)
    # lower_for_matching(mention.text), kept so that routing, which matches on it too, does not
    # lower the text again. Not a result: left out of ==, repr and hash.
    text_lower: str | None = field(default=None, compare=False, repr=False)


# --- Priority bands ---------------------------------------------------------------------------
# score >= P1_FROM → P1, >= P2_FROM → P2, >= P3_FROM → P3, else P4. With the weights below a
# customer's complaint lands at P3, an angry one addressed to the brand at P2; a threat (legal,
# regulatory, …) with a complaint, or a negative post by the press, crosses into P1; praise
# and chatter stay in P4 whoever posts them, and a complaint, however mild, from a customer
# with a handful of followers outranks praise from a celebrity with a million (need over reach).
P1_FROM = 70
P2_FROM = 50
P3_FROM = 30

# --- Score parts (points) ---------------------------------------------------------------------
NEGATIVITY_MAX = 30  # × -compound, when the compound is below 0
LIKELY_COMPLAINT = 20  # flagged a complaint (bot.domain.scoring.complaint), cues or not
# What makes a complaint urgent: its cues by kind (money, access, safety, repeated, time waited),
# URGENT_POINTS each, at most URGENT_MAX. A likely complaint from a customer is at least P3, and
# P2 when it is negative or urgent: the `complaint_floor` part tops the score up to that band.
# A possible one (probability from the model's `review_from`, below its flag) is at least P3
# unless it reads as praise; from the model's `mixed_from` (upper half of that band) even then.
URGENT_CUES: dict[str, frozenset[str]] = {
    "money": frozenset({"charged", "charged_twice", "no_refund", "refund", "card_swallowed"}),
    "access": frozenset({"account_blocked", "cant_access", "outage", "not_working"}),
    "safety": frozenset({"safety"}),
    "repeated": frozenset({"again"}),
    "waited": frozenset({"still_waiting", "waiting_since", "on_hold", "no_answer", "hotline",
                        "stranded"}),
}
URGENT_POINTS = 5
URGENT_MAX = 15
FLOOR_AUTHORS = frozenset({"customer", "advocate", "influencer", "vip"})  # not press, brand, rival
COMPLAINT_MAX = 20  # cap on cue points + intensifiers
LANGUAGE_CUE_POINTS = 8  # another language's complaint cue (language_cues; English's: 5-10)
PRAISE_POINTS = -15  # labelled positive: praise wants a thank-you, not urgency
QUESTION_POINTS = 10  # a question expects an answer
REACH_PER_DECADE = 2.5  # × log10(followers + 1): 100 → 5, 10k → 10, 1M → 15
REACH_MAX = 15
AUTHOR_POINTS = {
    "press": 15,
    "vip": 15,
    "influencer": 8,
    "advocate": 3,
    "competitor": 2,
    "customer": 0,
    "brand": 0,
}
RISK_FIRST = 25  # the first risk found
RISK_EACH_MORE = 5  # every further one
RISK_MAX = 35
# Oldest threshold first: a post older than 72 h loses 20 points, older than 24 h loses 10.
AGE_PENALTIES: tuple[tuple[timedelta, int], ...] = (
    (timedelta(hours=72), -20),
    (timedelta(hours=24), -10),
)

# --- Cue phrases ------------------------------------------------------------------------------
# A phrase is words separated by spaces, matched on the lowercased words of the text
# (punctuation between words is ignored). A word may list alternatives ("delay|delayed"), end
# with "?" to be optional ("my|our?" matches "my", "our" or nothing), or end with "*" to match
# any word starting with it ("boycott*" matches "#BoycottNorthwind").

# Conservative on purpose: a flag can send a mention to approval, so each cue must be hard to
# hit by accident ("issue" is not "sue", "give me a sec" is not the SEC). Rules files add more.
_REGULATORS = "fca|sec|ftc|cfpb|faa|dot|caa|ico|ofcom|ombudsman|regulator|regulators"
RISK_CUES: dict[str, tuple[str, ...]] = {  # risk → phrases; order = order of Enrichment.risk
    "legal": (
        "sue|suing",
        "lawyer|lawyers|lawsuit|lawsuits|attorney|attorneys",
        "legal action",
    ),
    "regulatory": (
        "regulator|regulators|ombudsman",
        "fca|sec|ftc|cfpb|faa|dot|caa|ico|gdpr complaint|complaints",
        "complain|complaining|complained|complaint|report|reporting|reported you|them|this|it? "
        f"to|with the? {_REGULATORS}",
    ),
    "privacy": (
        "data breach|breaches",
        "leaked|leaking|leak my|our|customer|customers|personal personal? "
        "data|details|info|information",
        "hacked my? account",
        "account was|got|is|has? been? hacked",
        "dox|doxx|doxed|doxxed|doxing|doxxing",
        "shared|sharing my personal? details|data|info|information|address",
    ),
    "reputational": (
        "boycott*",
        "viral",
        "go|goes|going|went to the press|media|papers|news",
        "tell|telling|contact|contacting the press|media|papers",
    ),
    "security": (
        "phish*",
        "scam|scams|scammed|scammer|scammers",
        "fraud*",
        "hacked",
    ),
}

_ACCESS = ("log|login|sign|signin|access|connect|pay|transfer|withdraw|open|use|load|download"
           "|update|reset|verify|book|checkin|order|buy|get|make|send|receive")
# name → (points, negatable, phrases). A negatable cue does not count right after a negation
# ("not delayed", "no problem", "wasn't even delayed": at most one word in between). Cues that
# carry their own negation ("not working", "no one answers", "no refund") are not negatable.
COMPLAINT_CUES: dict[str, tuple[int, bool, tuple[str, ...]]] = {
    "delayed": (10, True, ("delay|delays|delayed|delaying",)),
    "cancelled": (10, True, ("cancelled|canceled|cancellation|cancellations",)),
    "stranded": (10, True, ("stranded|stuck",)),
    "lost": (8, True, ("lost|missing",)),
    "missed": (8, True, ("missed my|our? connection|flight|train",)),
    "broken": (8, True, (
        "broken|crashed|crashing|crashes|defective|faulty|damaged|cracked|ripped|shrunk|shrank",
        "broke down",
        "fell|falls|falling|fallen apart",
        # food and drink: what arrives spoiled is broken too
        "food|meal|order|pizza|burger|fries|coffee|drink was|is|were|are|arrived|came cold|stale|raw"
        "|undercooked|burnt|soggy|spoiled|expired",
        "food poisoning",
    )),
    "not_working": (10, False, (
        "not|never|cannot|isn't|isnt|doesn't|doesnt|didn't|didnt|won't|wont|can't|cant even? "
        "work|works|working|worked",
        "stopped working|charging|syncing|connecting|loading|responding",
        "won't|wont|doesn't|doesnt|didn't|didnt start|charge|sync|load|connect",
    )),
    "still_waiting": (10, False, ("still waiting", "waiting for? hours|days|weeks|ages")),
    "on_hold": (10, False, ("on hold",)),
    "no_answer": (10, False, (
        "no one|body answers|answered|responds|responded|replies|replied|helps|cares",
        "noone|nobody answers|answered|responds|responded|replies|replied|helps|cares",
        "no reply|replies|response|responses|answer|help|update|updates|refund",
    )),
    "refund": (6, False, ("refund|refunds|refunded|compensation", "money back")),
    "charged_twice": (10, False, ("charged me? twice", "double charged", "overcharged")),
    "bad_service": (8, True, (
        "worst|terrible|awful|horrible|appalling|disgusting|pathetic|useless|unacceptable"
        "|ridiculous|rude|unhelpful|disappointed|disappointing",
    )),
    # Beyond airlines: banks, shops, telecoms, software (the cues of issue 15).
    "card_swallowed": (10, False, (
        "swallowed|retained|seized|ate|eaten|kept|took my|our? card|cards",
        "card|cards was|got|has|been? swallowed|retained|seized|stuck|blocked|declined",
    )),
    "account_blocked": (10, False, (
        "account|accounts|acct|card|cards|profile|wallet has|have|was|is|got|been? been? "
        "frozen|locked|blocked|suspended|restricted|disabled|deactivated|closed|banned|hacked",
        "locked out",
        "froze|freeze|blocked|suspended|locked|closed|banned|disabled my|our account|accounts|card",
    )),
    "charged": (8, True, (
        "charged|debited|deducted|overcharged|billed",
        "took|taken|stole|stolen my|our money|funds",
    )),
    "no_refund": (10, False, (
        "no|not|never|without|yet a? refund|refunded|reversal|reversed",
        "yet to be? refunded|reversed|refund|reverse",
        "still waiting|no for|on? my? refund|money",
        "reverse|return|refund my|our money|funds|cash",
    )),
    "not_delivered": (10, False, (
        "not|never|hasn't|hasnt|haven't|havent|didn't|didnt|wasn't|wasnt|yet been? "
        "delivered|arrived|received|shipped|dispatched|come",
        "yet to be? delivered|arrive|receive|shipped|dispatched",
        "never got|received|came|arrived",
        "where is|are my|our order|orders|parcel|package|delivery|refund|money",
        "wrong order|orders|item|items|size|product|parcel|package|food|meal|drink|colour|color",
        "missing item|items|part|parts|piece|pieces|order",
        "never|didn't|didnt show|showed|turned|turn up",
    )),
    "outage": (10, False, (
        "outage|outages|blackout|blackouts|offline",
        "no service|signal|internet|network|connection|power|electricity|light|water|data",
        "is|are|was|were|been|still|keeps|goes|went down again?",
    )),
    "cant_access": (10, False, (
        "can't|cant|cannot|couldn't|couldnt|unable|not to? " + _ACCESS,
        "not able to " + _ACCESS,
        "keeps|keep crashing|failing|freezing|logging",
        "failed transaction|transactions|transfer|transfers|payment|payments|login|delivery",
        "transaction|transfer|payment|login|order declined|failed|pending|reversed",
    )),
    "hotline": (8, False, (
        "hotline|helpline",
        "call centre|center|centres|centers",
        "just|keeps|kept rings|ringing|rang",
        "hung|hang up on me",
    )),
    "waiting_since": (10, False, (
        "waiting since",
        "been waiting",
        "since yesterday|morning|monday|tuesday|wednesday|thursday|friday|saturday|sunday|last",
        "for a|one|two|three|four|five|six|several|few|over|almost|nearly|1|2|3|4|5|6|7|8|9|10"
        " day|days|week|weeks|month|months|hours",
    )),
    "problem": (5, True, (
        "problem|problems|issue|issues|complaint|complaints|complain|complaining|complained",
        "fix this|it",
        "not|never|still not? fixed|resolved|repaired|sorted",
        "check engine light",
    )),
}
NEGATIONS = frozenset({
    "not", "no", "never", "without", "hardly", "nothing", "cannot", "dont", "doesnt", "didnt",
    "isnt", "wasnt", "werent", "arent", "wont", "cant", "havent", "hasnt",
})  # and any word ending in n't

# Intensifiers add to the complaint part only when a complaint cue was found.
ADDRESSED_TO_BRAND = 4  # mentions_brand, or "@brand" in the text
AGAIN = ("again|still", "once more")  # phrases
AGAIN_POINTS = 3
SHOUTING = re.compile(r"\b[A-Z]{4,}\b")  # an ALL-CAPS word (4+ letters: not LHR or FAA)
SHOUTING_POINTS = 3
REPEATED_PUNCTUATION = re.compile(r"[!?]{2,}")  # !!, ???, ?!
REPEATED_PUNCTUATION_POINTS = 3

# --- Question cues ----------------------------------------------------------------------------
# A "?" that ends a word (not the one in a URL's query string), or a question opening (after
# any leading @mentions): a wh-word followed by an auxiliary, or an auxiliary followed by a
# pronoun. "When I landed, …" and "What a flight" are not questions. On the lowercased text.
QUESTION_MARK = re.compile(r"\?(?![\w=&/%])")
QUESTION_OPENINGS: tuple[str, ...] = (
    r"(?:how|what|why|when|where|who|which)(?:'s| (?:do|does|did|is|are|was|were|can|could"
    r"|should|would|will|has|have|to|much|many|long|often|come))",
    r"(?:can|could|would|will|should|do|does|did|is|are|has|have|may)"
    r" (?:you|u|i|we|they|it|anyone|anybody|someone|somebody|my|the|this|there)",
    r"any ?(?:one|body) (?:know|else|help)",
)
_QUESTION_OPENING = re.compile(
    r"\s*(?:[.@#]\S*\s+)*(?:" + "|".join(QUESTION_OPENINGS) + r")\b"
)


# --- Matching words and phrases ---------------------------------------------------------------
_ODD_CASE = re.compile("[İıſK]")  # the non-ASCII letters re.IGNORECASE matches to a-z
_ODD_FOLD = str.maketrans({"İ": "i", "ı": "i", "ſ": "s", "K": "k"})


def lower_for_matching(text: str) -> str:
    """`text.lower()`, except that the four non-ASCII letters Python's case-insensitive regexes
    equate with ASCII ones (İ ı ſ K) become that letter. So whenever an ASCII string matches
    somewhere in `text` under re.IGNORECASE, its lowercase is a substring of the result."""
    if not text.isascii() and _ODD_CASE.search(text):
        text = text.translate(_ODD_FOLD)
    return text.lower()


_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")  # cue words are ASCII; é and the like split words


def _words(low: str) -> list[str]:
    if "’" in low:
        low = low.replace("’", "'")
    return _WORD.findall(low)


class _Node:
    """A word trie: each node knows the words and word prefixes that follow it."""

    __slots__ = ("hits", "prefix_tuple", "prefixes", "words")

    def __init__(self) -> None:
        self.words: dict[str, _Node] = {}
        self.prefixes: dict[str, _Node] = {}  # "boycott" for "boycott*"
        self.prefix_tuple: tuple[str, ...] = ()  # the same keys, for one str.startswith call
        self.hits: list[tuple[str, str]] = []  # (table, name) of the phrases ending here

    def add(self, slots: list[list[str]], hit: tuple[str, str]) -> None:
        if not slots:
            if hit not in self.hits:
                self.hits.append(hit)
            return
        for alt in slots[0]:
            if not alt:  # an optional word left out
                self.add(slots[1:], hit)
            elif alt.endswith("*"):
                child = self.prefixes.setdefault(alt[:-1], _Node())
                self.prefix_tuple = tuple(self.prefixes)
                child.add(slots[1:], hit)
            else:
                self.words.setdefault(alt, _Node()).add(slots[1:], hit)


def _slots(phrase: str) -> list[list[str]]:
    out = []
    for word in phrase.lower().split():
        optional = word.endswith("?")
        alts = word.rstrip("?").split("|")
        out.append([*alts, ""] if optional else alts)
    return out


def _build_trie(tables: Iterable[tuple[str, str, Iterable[str]]]) -> _Node:
    root = _Node()
    for table, name, phrases in tables:
        for phrase in phrases:
            root.add(_slots(phrase), (table, name))
    return root


_TRIE = _build_trie([
    *(("risk", risk, phrases) for risk, phrases in RISK_CUES.items()),
    *(("cue", name, phrases) for name, (_, _, phrases) in COMPLAINT_CUES.items()),
    ("again", "again", AGAIN),
])
_RISK_ORDER = {risk: i for i, risk in enumerate(RISK_CUES)}
_CUE_POINTS = {name: points for name, (points, _, _) in COMPLAINT_CUES.items()}
_NEGATABLE = frozenset(name for name, (_, negatable, _) in COMPLAINT_CUES.items() if negatable)


def _negated(words: list[str], i: int) -> bool:
    """Whether a negation ends at most one word before words[i]."""
    for k in (i - 1, i - 2):
        if k >= 0 and (words[k] in NEGATIONS or words[k].endswith("n't")):
            return True
    return False


class _Found(NamedTuple):
    risks: tuple[str, ...]
    cues: tuple[str, ...]
    again: bool


def _scan(words: list[str]) -> _Found:
    """Every phrase of every table that occurs in `words`, in one pass."""
    risks: set[str] = set()
    cues: list[str] = []
    again = False
    n = len(words)
    first_words, first_prefixes = _TRIE.words, _TRIE.prefix_tuple
    for i, word in enumerate(words):
        if word not in first_words and not word.startswith(first_prefixes):
            continue  # most words start no phrase
        stack = [(_TRIE, i)]  # (node, index of the next word)
        while stack:
            node, j = stack.pop()
            for table, name in node.hits:
                if table == "risk":
                    risks.add(name)
                elif table == "again":
                    again = True
                elif name not in cues and not (name in _NEGATABLE and _negated(words, i)):
                    cues.append(name)
            if j < n:
                following = words[j]
                child = node.words.get(following)
                if child is not None:
                    stack.append((child, j + 1))
                if node.prefix_tuple and following.startswith(node.prefix_tuple):
                    stack.extend(
                        (c, j + 1) for p, c in node.prefixes.items() if following.startswith(p)
                    )
    if len(risks) > 1:
        return _Found(tuple(sorted(risks, key=_RISK_ORDER.__getitem__)), tuple(cues), again)
    return _Found(tuple(risks), tuple(cues), again)


# --- Sentiment --------------------------------------------------------------------------------
_BASE_ANALYZER = _Analyzer()  # reads VADER's bundled lexicon once


@dataclass(frozen=True, slots=True)
class _Sentiment:
    """An analyzer with one rules lexicon, and the pattern that joins its phrases in a text."""

    analyzer: _Analyzer
    phrases: re.Pattern[str] | None
    # The first word of every phrase, when each is a plain word (see _WORD): a text that has
    # none of them among its words (the usual case) skips the substitution. None: never skip.
    first_words: frozenset[str] | None = None


def _join_phrase(m: re.Match[str]) -> str:
    return "_".join(m.group().split())


def _build_sentiment(lexicon: dict[str, float]) -> _Sentiment:
    if not lexicon:
        return _Sentiment(_BASE_ANALYZER, None)
    extra: dict[str, float] = {}
    phrases: list[list[str]] = []
    for entry, valence in lexicon.items():
        words = entry.split()
        extra["_".join(words).lower()] = float(valence)
        if len(words) > 1:
            phrases.append(words)
    # A shallow copy shares VADER's read-only emoji table; only the lexicon dict is new.
    analyzer = copy.copy(_BASE_ANALYZER)
    analyzer.lexicon = {**_BASE_ANALYZER.lexicon, **extra}
    if not phrases:
        return _Sentiment(analyzer, None)
    phrases.sort(key=len, reverse=True)  # most words first: "lost my bag" before "lost my"
    alternation = "|".join(r"\s+".join(map(re.escape, words)) for words in phrases)
    # Not after a letter or an apostrophe: exactly where _words starts a word (the shortcut).
    pattern = re.compile(rf"(?<![\w'’])(?:{alternation})(?!\w)", re.IGNORECASE)
    firsts = frozenset(words[0].lower() for words in phrases)
    plain = all(_WORD.fullmatch(w) for w in firsts)
    return _Sentiment(analyzer, pattern, firsts if plain else None)


_SENTIMENTS: dict[tuple[tuple[str, float], ...], _Sentiment] = {}  # lexicon contents → analyzer
_LOCK = threading.Lock()


def _sentiment_for(lexicon: dict[str, float]) -> _Sentiment:
    key = tuple(sorted(lexicon.items()))
    found = _SENTIMENTS.get(key)
    if found is None:
        with _LOCK:
            found = _SENTIMENTS.get(key)
            if found is None:
                found = _SENTIMENTS[key] = _build_sentiment(lexicon)
    return found


def _vader(text: str, words: list[str], sentiment: _Sentiment) -> dict[str, float]:
    """VADER's scores (neg, neu, pos, compound) of `text` with the rules lexicon."""
    if sentiment.phrases is not None and (
        sentiment.first_words is None or not sentiment.first_words.isdisjoint(words)
    ):
        text = sentiment.phrases.sub(_join_phrase, text)
    return sentiment.analyzer.polarity_scores(text)


def sentiment_label(compound: float, config: SentimentConfig) -> str:
    """`negative` strictly below `negative_below`, `positive` strictly above `positive_above`."""
    if compound < config.negative_below:
        return "negative"
    if compound > config.positive_above:
        return "positive"
    return "neutral"


# --- What is prepared once per Rules value ----------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Prepared:
    sentiment: _Sentiment
    brand_handles: dict[str, frozenset[str]]  # network → the brand's own handles, lowercase
    brand_address: re.Pattern[str] | None  # "@northwindair" (or the brand's other handles)
    # Every handle in the rules file's author lists (lowercase, no "@") → its type, as
    # `rules.authors.type_of` says (so one place decides which list wins): a dict lookup per
    # mention instead of a call that normalises the handle and tries each list in turn.
    listed_types: dict[str, str]
    # The rules file's complaint cues: language → one pattern of its phrases (lowercase).
    complaint_cues: dict[str, re.Pattern[str]]


def _cue_patterns(cues: dict[str, list[str]]) -> dict[str, re.Pattern[str]]:
    return {lang: re.compile(r"(?<!\w)(?:" + "|".join(
                map(re.escape, sorted(set(phrases), key=len, reverse=True))) + r")(?!\w)")
            for lang, phrases in cues.items() if phrases}


def rules_cues(low: str, lang: str, rules: Rules) -> tuple[str, ...]:
    """The rules file's complaint cues for `lang` found in the lowercased text, once each."""
    pattern = _prepared(rules).complaint_cues.get(lang)
    return tuple(dict.fromkeys(pattern.findall(low))) if pattern is not None else ()


def _prepare(rules: Rules) -> _Prepared:
    brand = rules.brand
    handles: dict[str, set[str]] = {"x": set(), "mastodon": set(), "bluesky": set()}
    if brand.x_username:
        handles["x"].add(brand.x_username.lstrip("@").lower())
    if brand.mastodon_acct:
        acct = brand.mastodon_acct.lstrip("@").lower()
        # Mastodon gives local accounts without the domain: "northwind" on its own instance.
        handles["mastodon"].update({acct, acct.split("@", 1)[0]})
    if brand.bluesky_handle:
        handles["bluesky"].add(brand.bluesky_handle.lstrip("@").lower())
    addressable = [h for h in (brand.x_username, brand.mastodon_acct, brand.bluesky_handle) if h]
    address = None
    if addressable:
        alternation = "|".join(re.escape(h.lstrip("@").lower()) for h in addressable)
        # On the lowercased text. The look-behind sits after the "@" so the search can skip
        # ahead from "@" to "@": it says the "@" does not follow a word (an e-mail address).
        address = re.compile(rf"@(?<![\w@]@)(?:{alternation})(?![\w@])")
    listed: dict[str, str] = {}
    for value in rules.authors.model_dump().values():
        for h in value if isinstance(value, list) else ():
            kind = rules.authors.type_of(h)
            if kind is not None:
                listed[h.lstrip("@").lower()] = kind
    return _Prepared(
        sentiment=_sentiment_for(rules.sentiment.lexicon),
        brand_handles={k: frozenset(v) for k, v in handles.items()},
        brand_address=address,
        listed_types=listed,
        complaint_cues=_cue_patterns(rules.complaint.cues),
    )


_PREPARED: dict[int, tuple[Rules, _Prepared]] = {}  # id(rules) → (rules kept alive, prepared)
_PREPARED_MAX = 32  # a reload makes a new Rules; old ones are dropped when this fills


def _prepared(rules: Rules) -> _Prepared:
    entry = _PREPARED.get(id(rules))
    if entry is not None and entry[0] is rules:
        return entry[1]
    prepared = _prepare(rules)
    with _LOCK:
        if len(_PREPARED) >= _PREPARED_MAX:
            _PREPARED.clear()
        _PREPARED[id(rules)] = (rules, prepared)
    return prepared


# --- The parts, one by one (also for tests and tuning) -----------------------------------------
def compound_of(text: str, rules: Rules) -> float:
    """VADER's compound score of `text` with the rules file's lexicon (phrases included)."""
    return _vader(text, _words(lower_for_matching(text)), _prepared(rules).sentiment)["compound"]


def analyzer_for(lexicon: dict[str, float]) -> _Analyzer:
    """The VADER analyzer a rules lexicon scores with: VADER's own (bundled lexicon, never
    changed) when the lexicon is empty, else a copy with the lexicon added (phrases joined with
    `_`, as `compound_of` joins them in the text), one per distinct lexicon."""
    return _sentiment_for(lexicon).analyzer


def triage_scores(mention: Mention, rules: Rules) -> tuple[float, float]:
    """(negativity, positivity) the way `enrich` computes them (`triage.scores`, the fast
    path): the bias plus the weights of what `triage_features` lists."""
    prepared = _prepared(rules)
    low = lower_for_matching(mention.text)
    words = _words(low)
    found = _scan(words)
    return triage.scores(
        mention.text, words, _vader(mention.text, words, prepared.sentiment), found.cues,
        again=found.again, question=_is_question(low),
        addressed=_addressed(mention, low, prepared))


def triage_features(mention: Mention, rules: Rules) -> dict[str, float]:
    """The signals `bot.domain.scoring.triage` weighs for this mention, by name (for tuning and tests)."""
    prepared = _prepared(rules)
    low = lower_for_matching(mention.text)
    words = _words(low)
    found = _scan(words)
    return triage.features(
        mention.text, words, _vader(mention.text, words, prepared.sentiment), found.cues,
        again=found.again, question=_is_question(low),
        addressed=_addressed(mention, low, prepared))


def complaint_features(mention: Mention, rules: Rules) -> tuple[set[str], dict[str, float]]:
    """What `bot.domain.scoring.complaint` weighs for this mention: its binary features and
    VADER's scores (for deriving the weights and for tests)."""
    low = lower_for_matching(mention.text)
    words = _words(low)
    found = _scan(words)
    vader = _vader(mention.text, words, _prepared(rules).sentiment)
    flags = complaint.flags_of(low, question=_is_question(low), again=found.again)
    return complaint.features(complaint.words_of(low), found.cues, flags), vader


def author_type_of(mention: Mention, rules: Rules) -> str:
    """brand (its own handle) › the rules file's lists › influencer by followers › customer."""
    return _author_type(mention, rules, _prepared(rules))


def _author_type(mention: Mention, rules: Rules, prepared: _Prepared) -> str:
    author = mention.author
    handle = author.handle.lstrip("@").lower()
    own = prepared.brand_handles.get(mention.network)
    if own and handle in own:
        return "brand"
    listed = prepared.listed_types.get(handle)
    if listed is not None:
        return listed
    if author.followers >= rules.authors.influencer_min_followers:
        return "influencer"
    return "customer"


def risks_of(text: str) -> tuple[str, ...]:
    """The built-in risk flags a text raises, in RISK_CUES order."""
    return _scan(_words(lower_for_matching(text))).risks


def complaint_cues(text: str) -> tuple[str, ...]:
    """Names of the complaint cues in `text`, in order of appearance, negated ones left out."""
    return _scan(_words(lower_for_matching(text))).cues


def is_question(text: str) -> bool:
    return _is_question(lower_for_matching(text))


def _is_question(low: str) -> bool:
    return QUESTION_MARK.search(low) is not None or _QUESTION_OPENING.match(low) is not None


def _addressed(mention: Mention, low: str, prepared: _Prepared) -> bool:
    """Whether the post is addressed to the brand: it mentions it, or "@brand" is in it."""
    return mention.mentions_brand or (
        prepared.brand_address is not None and prepared.brand_address.search(low) is not None
    )


def _complaint_points(mention: Mention, found: _Found, addressed: bool, feeling: _Feeling) -> int:
    """The cues' points (English's and another language's) and the intensifiers."""
    if not found.cues and not feeling.cues:
        return 0
    points = sum(_CUE_POINTS[c] for c in found.cues) + LANGUAGE_CUE_POINTS * len(feeling.cues)
    if addressed:
        points += ADDRESSED_TO_BRAND
    if found.again or language_cues.REPEATED in feeling.urgent:
        points += AGAIN_POINTS
    if SHOUTING.search(mention.text):
        points += SHOUTING_POINTS
    if REPEATED_PUNCTUATION.search(mention.text):
        points += REPEATED_PUNCTUATION_POINTS
    return min(COMPLAINT_MAX, points)


def _urgent_points(found: _Found, risks: tuple[str, ...], kinds: frozenset[str]) -> int:
    """URGENT_POINTS per kind of urgency among the cues (and a safety risk; `kinds`: those of
    another language's cues), at most URGENT_MAX."""
    present = {*found.cues, *risks, *(("again",) if found.again else ())}
    urgent = kinds | {kind for kind, cues in URGENT_CUES.items() if not cues.isdisjoint(present)}
    return min(URGENT_MAX, URGENT_POINTS * len(urgent))


def _reach_points(followers: int) -> int:
    if followers <= 0:
        return 0
    return min(REACH_MAX, round(REACH_PER_DECADE * math.log10(followers + 1)))


def _risk_points(risks: tuple[str, ...]) -> int:
    if not risks:
        return 0
    return min(RISK_MAX, RISK_FIRST + RISK_EACH_MORE * (len(risks) - 1))


def _age_points(created_at: datetime | None, now: datetime) -> int:
    if created_at is None:
        return 0
    if created_at.tzinfo is None:  # documented as aware UTC; be lenient with naive values
        created_at = created_at.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    age = now - created_at
    for older_than, points in AGE_PENALTIES:
        if age > older_than:
            return points
    return 0


def priority_for(score: int) -> str:
    """The priority band of a score (see P1_FROM, P2_FROM, P3_FROM)."""
    if score >= P1_FROM:
        return "P1"
    if score >= P2_FROM:
        return "P2"
    if score >= P3_FROM:
        return "P3"
    return "P4"


# --- How the post feels, by language ----------------------------------------------------------
class _Feeling(NamedTuple):
    compound: float
    sentiment: str
    complaint_probability: float
    is_complaint: bool
    review: bool  # worth a look (at least P3) unless it is praise
    mixed: bool  # worth a look even if it reads as praise (sarcasm, thanks-but)
    urgent: frozenset[str] = frozenset()  # URGENT_CUES kinds of another language's cues
    cues: tuple[str, ...] = ()  # another language's complaint cues found
    risks: frozenset[str] = frozenset()  # another language's risk cues found


def _english(text: str, low: str, words: list[str], vader: dict[str, float], found: _Found,
             question: bool, addressed: bool, rules: Rules) -> _Feeling:
    compound = triage.compound(*triage.scores(
        text, words, vader, found.cues, again=found.again, question=question,
        addressed=addressed))
    model = complaint.model()
    probability = complaint.raised(model.probability(complaint.features(
        complaint.words_of(low), found.cues,
        complaint.flags_of(low, question=question, again=found.again)), vader),
        len(rules_cues(low, "en", rules)))
    shift = rules.complaint.threshold_shift
    return _Feeling(compound, sentiment_label(compound, rules.sentiment), probability,
                    probability >= complaint.shifted(model.threshold, shift),
                    probability >= complaint.shifted(model.review_from, shift),
                    probability >= complaint.shifted(model.mixed_from, shift))


def _other_language(text: str, lang: str, vader: dict[str, float], rules: Rules,
                    words: list[str] | None) -> _Feeling:
    """bot.domain.scoring.multilingual's weights for `lang`; none: sentiment `unknown`.
    `words`: multilingual.tokens of the text, if detection read them already."""
    scored = multilingual.scores(text, lang, vader, rules.sentiment.lexicons.get(lang),
                                 rules_cues(text.lower(), lang, rules), words)
    if scored is None:
        return _Feeling(0.0, UNKNOWN_SENTIMENT, 0.0, False, False, False)
    flagged = scored.complaint_probability >= complaint.shifted(
        multilingual.complaint_threshold(), rules.complaint.threshold_shift)
    return _Feeling(scored.compound, sentiment_label(scored.compound, rules.sentiment),
                    scored.complaint_probability, flagged, flagged, flagged, scored.urgent,
                    scored.cues, scored.risks)


# --- The whole -------------------------------------------------------------------------------
def enrich(mention: Mention, rules: Rules, *, now: datetime) -> Enrichment:
    """Score one mention. `score` is the sum of `score_parts` clamped to 0..100; parts worth 0
    points are left out of `score_parts`."""
    prepared = _prepared(rules)
    text = mention.text
    low = lower_for_matching(text)
    words = _words(low)
    vader = _vader(text, words, prepared.sentiment)
    found = _scan(words)
    question = _is_question(low)
    addressed = _addressed(mention, low, prepared)
    lang = language.normalise(mention.lang)
    any_script: list[str] | None = None  # multilingual.tokens: read once for both uses
    if lang is None:
        any_script = multilingual.tokens(text.lower())
        lang = language.detect(text, any_script)
    if lang is None or lang == "en":
        feeling = _english(text, low, words, vader, found, question, addressed, rules)
    else:
        feeling = _other_language(text, lang, vader, rules, any_script)
    compound, sentiment, probability, is_complaint, review, mixed = feeling[:6]
    risks = found.risks if not feeling.risks else tuple(
        sorted(feeling.risks.union(found.risks), key=_RISK_ORDER.__getitem__))
    author_type = _author_type(mention, rules, prepared)

    parts = {
        "negativity": round(NEGATIVITY_MAX * -compound) if compound < 0 else 0,
        "likely_complaint": LIKELY_COMPLAINT if is_complaint else 0,
        "urgent": _urgent_points(found, risks, feeling.urgent) if is_complaint else 0,
        "complaint": _complaint_points(mention, found, addressed, feeling),
        "praise": PRAISE_POINTS if sentiment == "positive" else 0,
        "question": QUESTION_POINTS if question else 0,
        "reach": _reach_points(mention.author.followers),
        "author": AUTHOR_POINTS.get(author_type, 0),
        "risk": _risk_points(risks),
        "age": _age_points(mention.created_at, now),
    }
    # An app-store review's stars: a floor under what the words scored as a complaint (or
    # took off as praise: kind words on a 1-star review are not praise).
    parts["rating"] = rating.points(mention, words=parts["negativity"] + parts["praise"]
                                    + parts["likely_complaint"] + parts["complaint"])
    parts = {k: v for k, v in parts.items() if v}
    if (is_complaint or mixed or (review and sentiment != "positive")) \
            and author_type in FLOOR_AUTHORS:  # praise below `mixed_from` stays where it is
        floor = (P2_FROM if is_complaint and (sentiment == "negative" or "urgent" in parts)
                 else P3_FROM)
        # Before the age penalty: an old complaint still sinks as old posts do.
        short = floor - sum(v for k, v in parts.items() if k != "age")
        if short > 0:
            parts["complaint_floor"] = short
    score = max(0, min(100, sum(parts.values())))
    return Enrichment(
        compound=compound,
        sentiment=sentiment,
        author_type=author_type,
        risk=risks,
        score=score,
        priority=priority_for(score),
        score_parts=parts,
        is_question=question,
        is_complaint=is_complaint or rating.is_complaint(mention),
        cues=found.cues,
        complaint_probability=probability,
        lang=lang,
        text_lower=low,
    )
