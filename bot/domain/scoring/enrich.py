"""PURE scoring of one mention: sentiment, author type, risk, urgency score and priority.

No I/O. Takes a `Mention`, the `Rules` and the current time; returns an `Enrichment`.

The score is a sum of named parts (`Enrichment.score_parts`, part → points: their weights and
the priority bands are bot.domain.scoring.points) so a card can say *why* a mention is urgent;
`score` is that sum clamped to 0..100, and `priority` is its band. The English cues (risk,
complaint, "again", questions) are bot.domain.scoring.cues, found in one pass over the words.

Sentiment starts from VADER's scores with the rules file's `sentiment.lexicon` on top; then
`bot.domain.scoring.triage` weighs them with what VADER lacks for customer care (brand address,
the complaint cues, "again", "?", caps, "!!", a learned customer-care lexicon of words and
emoji) into the `compound` (-1..1) that is labelled at the rules file's thresholds. Another
language's post is scored by bot.domain.scoring.multilingual, or `unknown`. VADER looks words
up one token at a time, so a multi-word entry ("on hold") is matched in the text
(case-insensitive, any run of whitespace between its words), its words are joined with `_`
("on_hold") and the joined form is what goes into the lexicon. One analyzer is built per
distinct lexicon and reused; the stock VADER lexicon is read once, at import.
"""

from __future__ import annotations

import copy
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from bot.domain.mention import Mention
from bot.domain.rules.schema import UNKNOWN_SENTIMENT, Rules, SentimentConfig
from bot.domain.scoring import complaint, language, multilingual, points, rating, triage
from bot.domain.scoring.cues import (
    RISK_ORDER,
    WORD,
    Found,
    lower_for_matching,
    question_in,
    scan,
    words_of,
)
from bot.domain.scoring.vader import Analyzer as _Analyzer  # VADER's scores, faster


@dataclass(frozen=True, slots=True)
class Enrichment:
    compound: float  # triage valence, -1..1 (bot.domain.scoring.triage: VADER with the rules lexicon + cues)
    sentiment: str  # negative | neutral | positive | unknown (no weights for its language)
    author_type: str  # customer | press | competitor | advocate | influencer | vip | brand
    risk: tuple[str, ...]  # legal, regulatory, privacy, reputational, security, safety
    score: int  # 0..100 urgency
    priority: str  # P1..P4 from the score alone (routing may raise it)
    score_parts: dict[str, int] = field(default_factory=dict)  # why: part → points
    is_question: bool = False
    is_complaint: bool = False  # complaint_probability at or above the model's threshold
    cues: tuple[str, ...] = ()  # the complaint cues found (keys of cues.COMPLAINT_CUES), in order
    complaint_probability: float = 0.0  # bot.domain.scoring.complaint, 0..1
    lang: str | None = None  # the network's language, else the detected one (None: too short)
    # lower_for_matching(mention.text), kept so that routing, which matches on it too, does not
    # lower the text again. Not a result: left out of ==, repr and hash.
    text_lower: str | None = field(default=None, compare=False, repr=False)


# --- Sentiment --------------------------------------------------------------------------------
_BASE_ANALYZER = _Analyzer()  # reads VADER's bundled lexicon once


@dataclass(frozen=True, slots=True)
class _Sentiment:
    """An analyzer with one rules lexicon, and the pattern that joins its phrases in a text."""

    analyzer: _Analyzer
    phrases: re.Pattern[str] | None
    # The first word of every phrase, when each is a plain word (see WORD): a text that has
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
    # Not after a letter or an apostrophe: exactly where words_of starts a word (the shortcut).
    pattern = re.compile(rf"(?<![\w'’])(?:{alternation})(?!\w)", re.IGNORECASE)
    firsts = frozenset(words[0].lower() for words in phrases)
    plain = all(WORD.fullmatch(w) for w in firsts)
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
    return _vader(text, words_of(lower_for_matching(text)), _prepared(rules).sentiment)["compound"]


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
    words = words_of(low)
    found = scan(words)
    return triage.scores(
        mention.text, words, _vader(mention.text, words, prepared.sentiment), found.cues,
        again=found.again, question=question_in(low),
        addressed=_addressed(mention, low, prepared))


def triage_features(mention: Mention, rules: Rules) -> dict[str, float]:
    """The signals `bot.domain.scoring.triage` weighs for this mention, by name (for tuning and tests)."""
    prepared = _prepared(rules)
    low = lower_for_matching(mention.text)
    words = words_of(low)
    found = scan(words)
    return triage.features(
        mention.text, words, _vader(mention.text, words, prepared.sentiment), found.cues,
        again=found.again, question=question_in(low),
        addressed=_addressed(mention, low, prepared))


def complaint_features(mention: Mention, rules: Rules) -> tuple[set[str], dict[str, float]]:
    """What `bot.domain.scoring.complaint` weighs for this mention: its binary features and
    VADER's scores (for deriving the weights and for tests)."""
    low = lower_for_matching(mention.text)
    words = words_of(low)
    found = scan(words)
    vader = _vader(mention.text, words, _prepared(rules).sentiment)
    flags = complaint.flags_of(low, question=question_in(low), again=found.again)
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


def _addressed(mention: Mention, low: str, prepared: _Prepared) -> bool:
    """Whether the post is addressed to the brand: it mentions it, or "@brand" is in it."""
    return mention.mentions_brand or (
        prepared.brand_address is not None and prepared.brand_address.search(low) is not None
    )


# --- How the post feels, by language ----------------------------------------------------------
class _Feeling(NamedTuple):
    compound: float
    sentiment: str
    complaint_probability: float
    is_complaint: bool
    review: bool  # worth a look (at least P3) unless it is praise
    mixed: bool  # worth a look even if it reads as praise (sarcasm, thanks-but)
    urgent: frozenset[str] = frozenset()  # points.URGENT_CUES kinds of another language's cues
    cues: tuple[str, ...] = ()  # another language's complaint cues found
    risks: frozenset[str] = frozenset()  # another language's risk cues found


def _english(text: str, low: str, words: list[str], vader: dict[str, float], found: Found,
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
    words = words_of(low)
    vader = _vader(text, words, prepared.sentiment)
    found = scan(words)
    question = question_in(low)
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
        sorted(feeling.risks.union(found.risks), key=RISK_ORDER.__getitem__))
    author_type = _author_type(mention, rules, prepared)

    parts = {
        "negativity": round(points.NEGATIVITY_MAX * -compound) if compound < 0 else 0,
        "likely_complaint": points.LIKELY_COMPLAINT if is_complaint else 0,
        "urgent": points.urgent_points(found, risks, feeling.urgent) if is_complaint else 0,
        "complaint": points.complaint_points(text, found, addressed, len(feeling.cues),
                                             feeling.urgent),
        "praise": points.PRAISE_POINTS if sentiment == "positive" else 0,
        "question": points.QUESTION_POINTS if question else 0,
        "reach": points.reach_points(mention.author.followers),
        "author": points.AUTHOR_POINTS.get(author_type, 0),
        "risk": points.risk_points(risks),
        "age": points.age_points(mention.created_at, now),
    }
    # An app-store review's stars: a floor under what the words scored as a complaint (or
    # took off as praise: kind words on a 1-star review are not praise).
    parts["rating"] = rating.points(mention, words=parts["negativity"] + parts["praise"]
                                    + parts["likely_complaint"] + parts["complaint"])
    parts = {k: v for k, v in parts.items() if v}
    if (is_complaint or mixed or (review and sentiment != "positive")) \
            and author_type in points.FLOOR_AUTHORS:  # praise below `mixed_from` stays where it is
        floor = (points.P2_FROM if is_complaint and (sentiment == "negative" or "urgent" in parts)
                 else points.P3_FROM)
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
        priority=points.priority_for(score),
        score_parts=parts,
        is_question=question,
        is_complaint=is_complaint or rating.is_complaint(mention),
        cues=found.cues,
        complaint_probability=probability,
        lang=lang,
        text_lower=low,
    )
