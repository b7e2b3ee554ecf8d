"""The schema of routing_rules.yaml as pydantic models (see ARCHITECTURE.md for the contract).

Unknown keys are refused everywhere (`extra="forbid"`), so a typo is an error, not a silent no-op.
Values are validated and normalised here (durations → seconds, regexes compiled) so the pure
modules that read `Rules` never re-check them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from bot.domain.rules.references import DEFAULT_OUTCOMES, reference_problems

PRIORITIES = ("P1", "P2", "P3", "P4")  # P1 is the most urgent
Priority = Literal["P1", "P2", "P3", "P4"]
SENTIMENTS = ("negative", "neutral", "positive")
# A post in a language scoring has no weights for: never guessed as neutral.
UNKNOWN_SENTIMENT = "unknown"
SENTIMENT_LABELS = (*SENTIMENTS, UNKNOWN_SENTIMENT)  # what a mention's sentiment can be
Sentiment = Literal["negative", "neutral", "positive", "unknown"]
AUTHOR_TYPES = ("customer", "press", "competitor", "advocate", "influencer", "vip", "brand")
AuthorType = Literal["customer", "press", "competitor", "advocate", "influencer", "vip", "brand"]
RISKS = ("legal", "regulatory", "privacy", "reputational", "security", "safety")
Risk = Literal["legal", "regulatory", "privacy", "reputational", "security", "safety"]
SOURCE_TYPES = ("x_mentions", "x_search", "rss", "mastodon_mentions", "bluesky_search",
                "bluesky_mentions",
                "reddit_mentions",
                "reddit_search",
                "youtube_comments",
                "google_play_reviews",
                "facebook_page",
                "app_store_reviews",
                "instagram",
                "threads_mentions",
                "threads_search",
                )
SourceType = Literal["x_mentions", "x_search", "rss", "mastodon_mentions", "bluesky_search",
                     "bluesky_mentions",
                     "reddit_mentions",
                     "reddit_search",
                     "youtube_comments",
                     "google_play_reviews",
                     "facebook_page",
                     "app_store_reviews",
                     "instagram",
                     "threads_mentions",
                     "threads_search",
                     ]
NETWORK_OF_SOURCE = {"x_mentions": "x", "x_search": "x", "rss": "rss",
                     "mastodon_mentions": "mastodon", "bluesky_search": "bluesky",
                     "bluesky_mentions": "bluesky",
                     "reddit_mentions": "reddit",
                     "reddit_search": "reddit",
                     "youtube_comments": "youtube",
                     "google_play_reviews": "google_play",
                     "facebook_page": "facebook",
                     "app_store_reviews": "app_store",
                     "instagram": "instagram",
                     "threads_mentions": "threads",
                     "threads_search": "threads",
                     }
# Free quota per day of the networks that count one (YouTube Data API v3: 10,000 units).
YOUTUBE_DAILY_QUOTA = 10_000
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKING_DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> timedelta:
    """`30s`, `5m`, `1h`, `1d` → timedelta. Bare numbers are refused: the unit is the point."""
    if isinstance(value, timedelta):
        return value
    m = _DURATION.match(value) if isinstance(value, str) else None
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"{value!r} is not a duration; use a positive number with s, m, h or d "
                         "(30s, 5m, 1h, 1d)")
    return timedelta(seconds=int(m.group(1)) * _UNIT[m.group(2)])


def _format_duration(td: timedelta) -> str:
    s = int(td.total_seconds())
    for unit in ("d", "h", "m"):
        if s % _UNIT[unit] == 0:
            return f"{s // _UNIT[unit]}{unit}"
    return f"{s}s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(_format_duration)]


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


StrList = Annotated[list[str], BeforeValidator(_as_list)]
_CHANNEL = re.compile(r"^([CGD][A-Z0-9]{2,}|#[a-z0-9][a-z0-9_\-]{0,79})$")
_APPROVER = re.compile(r"^[UWS][A-Z0-9]{2,}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_channel(v: str) -> str:
    if not _CHANNEL.match(v):
        raise ValueError(f"{v!r} is not a Slack channel: use a channel id (C0123…) or #name")
    return v


Channel = Annotated[str, BeforeValidator(lambda v: _check_channel(str(v)) if v else v)]


class Brand(Strict):
    name: str
    x_username: str | None = None  # without @; replies go out as this account
    mastodon_acct: str | None = None  # user@instance
    bluesky_handle: str | None = None
    reddit_username: str | None = None  # without u/; replies go out as this account

    @field_validator("x_username")
    @classmethod
    def _strip_at(cls, v: str | None) -> str | None:
        return v.lstrip("@") if v else v

    @field_validator("reddit_username")
    @classmethod
    def _strip_u(cls, v: str | None) -> str | None:
        return re.sub(r"^/?u/", "", v.strip()) if v else v


class SourceSpec(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    type: SourceType
    every: Duration = timedelta(minutes=5)
    query: str | None = None
    url: str | None = None
    enabled: bool = True
    cost_per_read: float = Field(default=0.005, ge=0)  # USD per post read (X pay per use)
    monthly_budget: float | None = Field(default=None, gt=0)  # USD; polls slow down near it
    # reddit_search: the subreddits searched (names without r/); empty searches r/all.
    subreddits: StrList = Field(default_factory=list)
    # youtube_comments: the brand's channel (UC…): comments on all its videos are read
    channel_id: str | None = Field(default=None, pattern=r"^UC[A-Za-z0-9_\-]{22}$")
    # youtube_comments: quota units a day (the project's quota; polls slow at 80 %, stop at 100 %)
    daily_quota: int = Field(default=YOUTUBE_DAILY_QUOTA, gt=0)
    # google_play_reviews: the app's package name (com.example.app)
    package: str | None = Field(default=None, pattern=r"^[A-Za-z][\w]*(\.[A-Za-z][\w]*)+$")
    # facebook_page: the Page's numeric id (Page → About → Page transparency, or Graph /me)
    page_id: str | None = Field(default=None, pattern=r"^[0-9]{5,20}$")
    # app_store_reviews: the app's Apple ID (digits: App Store Connect → App Information)
    app_id: str | None = Field(default=None, pattern=r"^[0-9]{1,20}$")
    # rss: the feed may be on a private, loopback or link-local address (an intranet feed);
    # without it such a target — the URL's or a redirect's — is refused (SSRF).
    allow_private: bool = False
    # instagram: the professional account's numeric id (Graph `/{page-id}?fields=
    # instagram_business_account`), not its @username
    ig_user_id: str | None = Field(default=None, pattern=r"^[0-9]{5,25}$")

    @field_validator("subreddits")
    @classmethod
    def _subreddit_names(cls, v: list[str]) -> list[str]:
        names = [re.sub(r"^/?r/", "", n.strip()) for n in v]
        for name in names:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}", name):
                raise ValueError(f"{name!r} is not a subreddit name (letters, digits, _)")
        return names

    @model_validator(mode="after")
    def _needs(self) -> SourceSpec:
        if self.type in ("x_search", "bluesky_search", "reddit_search",
                         "threads_search") and not self.query:
            raise ValueError(f"a {self.type} source needs a query")
        if self.type == "x_search" and self.query and len(self.query) > 512:
            raise ValueError("X recent search queries are limited to 512 characters")
        if self.subreddits and self.type != "reddit_search":
            raise ValueError("subreddits is for reddit_search sources")
        if self.type == "google_play_reviews" and not self.package:
            raise ValueError("a google_play_reviews source needs a package (the app's package "
                             "name, e.g. com.example.app)")
        if self.type == "facebook_page" and not self.page_id:
            raise ValueError("a facebook_page source needs the Page's page_id (its number, "
                             "e.g. 104123456789012)")
        if self.type == "app_store_reviews" and not self.app_id:
            raise ValueError("an app_store_reviews source needs an app_id (the app's Apple ID, "
                             "digits, e.g. 1234567890)")
        if self.type == "instagram" and not self.ig_user_id:
            raise ValueError("an instagram source needs the account's ig_user_id (its number, "
                             "from the Page's instagram_business_account)")
        if self.type == "youtube_comments" and not self.channel_id:
            raise ValueError("a youtube_comments source needs the brand's channel_id (UC…)")
        if self.type == "rss" and not self.url:
            raise ValueError("an rss source needs a url")
        if self.allow_private and self.type != "rss":
            raise ValueError("allow_private is for rss sources")
        if self.every < timedelta(seconds=15):
            raise ValueError("every must be at least 15s (the networks rate-limit polling)")
        return self

    @property
    def network(self) -> str:
        return NETWORK_OF_SOURCE[self.type]


class BusinessHours(Strict):
    days: list[Weekday] = Field(default_factory=lambda: list(WORKING_DAYS))
    start: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(default="17:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_tz(v)


class Team(Strict):
    channel: Channel
    label: str | None = None  # display name; the key is the id
    approvers: StrList = Field(default_factory=list)  # user (U…/W…) and user-group (S…) ids
    sla: dict[Priority, Duration] = Field(default_factory=dict)
    business_hours: BusinessHours | None = None  # SLA clocks run only inside them when set

    @field_validator("approvers")
    @classmethod
    def _approvers(cls, v: list[str]) -> list[str]:
        for a in v:
            if not _APPROVER.match(a):
                raise ValueError(f"{a!r} is not a Slack user (U…/W…) or user-group (S…) id")
        return v


class Authors(Strict):
    customer: StrList = Field(default_factory=list)
    press: StrList = Field(default_factory=list)
    competitor: StrList = Field(default_factory=list)
    advocate: StrList = Field(default_factory=list)
    vip: StrList = Field(default_factory=list)
    influencer_min_followers: int = Field(default=10_000, ge=0)

    def type_of(self, handle: str) -> str | None:
        """The listed type of a handle (case-insensitive, `@` optional), most specific first."""
        h = handle.lstrip("@").lower()
        for kind in ("competitor", "press", "vip", "advocate", "customer"):
            if h in self._sets[kind]:
                return kind
        return None

    @property
    def _sets(self) -> dict[str, frozenset[str]]:
        cache = self.__dict__.get("_cached_sets")
        if cache is None:
            cache = {k: frozenset(x.lstrip("@").lower() for x in getattr(self, k))
                     for k in ("customer", "press", "competitor", "advocate", "vip")}
            object.__setattr__(self, "_cached_sets", cache)  # frozen model: cache once
        return cache


class SentimentConfig(Strict):
    lexicon: dict[str, float] = Field(default_factory=dict)  # words or phrases on top of VADER
    # Other languages: language code → word → valence, on top of that language's weights.
    lexicons: dict[str, dict[str, float]] = Field(default_factory=dict)
    negative_below: float = Field(default=-0.05, ge=-1, le=0)
    positive_above: float = Field(default=0.05, ge=0, le=1)

    @field_validator("lexicon")
    @classmethod
    def _valence(cls, v: dict[str, float]) -> dict[str, float]:
        for word, score in v.items():
            if not -4.0 <= score <= 4.0:
                raise ValueError(f"{word!r}: valence {score} is outside VADER's -4..4 scale")
            if not word.strip():
                raise ValueError("an empty lexicon entry")
        return v

    @field_validator("lexicons")
    @classmethod
    def _per_language(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        out = {}
        for lang, words in v.items():
            if not re.fullmatch(r"[a-z]{2,3}", lang):
                raise ValueError(f"{lang!r}: a language code is 2 or 3 lowercase letters (fr, pcm)")
            if lang == "en":
                raise ValueError("'en': English words go in sentiment.lexicon")
            out[lang] = {w.lower(): s for w, s in cls._valence(words).items()}
        return out


class ComplaintConfig(Strict):
    """What the rules file adds to the complaint signal (`bot.domain.scoring.complaint` in
    English, `bot.domain.scoring.multilingual` in the other languages it reads); `socialbot
    tune` proposes both from staff's complaint corrections."""

    # Language code (en too) → words or phrases that mean a complaint in a post to the brand,
    # on top of the built-in cues; each one found raises the complaint odds (CUE_ODDS).
    cues: dict[str, list[str]] = Field(default_factory=dict)
    # Added to the probability from which a post is flagged a complaint (and to the review
    # bands below it): negative flags more, positive fewer.
    threshold_shift: float = Field(default=0.0, ge=-0.3, le=0.3)

    @field_validator("cues")
    @classmethod
    def _per_language(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        out = {}
        for lang, phrases in v.items():
            if not re.fullmatch(r"[a-z]{2,3}", lang):
                raise ValueError(f"{lang!r}: a language code is 2 or 3 lowercase letters (en, sw)")
            if any(not p.strip() for p in phrases):
                raise ValueError(f"{lang}: an empty complaint cue")
            out[lang] = [" ".join(p.lower().split()) for p in phrases]
        return out


class Condition(Strict):
    """One `when:`. Several keys in one mapping must all hold."""

    text_matches: StrList | None = None
    author_type: Annotated[list[AuthorType], BeforeValidator(_as_list)] | None = None
    author_in: StrList | None = None
    sentiment: Annotated[list[Sentiment], BeforeValidator(_as_list)] | None = None
    followers_at_least: int | None = Field(default=None, ge=0)
    network: Annotated[list[Literal["x", "mastodon", "bluesky", "rss",
                                    "reddit",
                                    "youtube",
                                    "google_play",
                                    "facebook",
                                    "app_store",
                                    "instagram",
                                    "threads",
                                    ]],
                       BeforeValidator(_as_list)] | None = None
    source: StrList | None = None
    lang: StrList | None = None
    risk: Annotated[list[Risk], BeforeValidator(_as_list)] | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    @field_validator("text_matches")
    @classmethod
    def _regexes(cls, v: list[str] | None) -> list[str] | None:
        for pattern in v or ():
            _compile(pattern)
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError("an empty condition; give at least one of text_matches, "
                             "author_type, author_in, sentiment, followers_at_least, network, "
                             "source, lang, risk, all, any, not")
        return self

    @property
    def patterns(self) -> tuple[re.Pattern[str], ...]:
        cache = self.__dict__.get("_patterns")
        if cache is None:
            cache = tuple(_compile(p) for p in self.text_matches or ())
            object.__setattr__(self, "_patterns", cache)
        return cache


class Then(Strict):
    team: str | None = None
    priority: Priority | None = None
    approval: Literal["required", "not_required"] | None = None
    risk: Annotated[list[Risk], BeforeValidator(_as_list)] = Field(default_factory=list)
    outcome_hint: str | None = None


class Rule(Strict):
    name: str
    when: Condition
    then: Then
    enabled: bool = True


class Policy(Strict):
    banned_phrases: StrList = Field(default_factory=list)
    block_personal_data: bool = True  # card/account numbers, e-mails, phone numbers
    approval_for_risk: Annotated[list[Risk], BeforeValidator(_as_list)] = Field(
        default_factory=list)  # these risks always need approval, whatever the rules say


class Template(Strict):
    name: str
    text: str = Field(min_length=1)
    teams: StrList = Field(default_factory=list)  # empty: every team


class Weekly(Strict):
    channel: Channel
    at: str = "mon 08:00"
    timezone: str = "UTC"

    @field_validator("at")
    @classmethod
    def _at(cls, v: str) -> str:
        m = re.match(r"^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):([0-5]\d)$", v.strip().lower())
        if not m:
            raise ValueError(f"{v!r}: use a weekday and a 24h time, e.g. 'mon 08:00'")
        return v.strip().lower()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return _check_tz(v)


class Reports(Strict):
    weekly: Weekly | None = None


class Spike(Strict):
    channel: Channel
    window: Duration = timedelta(minutes=30)
    factor: float = Field(default=3.0, gt=1)
    min_mentions: int = Field(default=20, ge=1)
    cooldown: Duration = timedelta(hours=2)
    # A mention posted longer than this before the window it arrived in is a late arrival
    # (the backlog fetched after downtime, a feed hours behind): it does not count as a surge.
    late_after: Duration = timedelta(hours=2)


class Alerts(Strict):
    spike: Spike | None = None


class Rules(Strict):
    version: Literal[1] = 1
    brand: Brand
    sources: list[SourceSpec] = Field(default_factory=list)
    teams: dict[str, Team] = Field(min_length=1)
    default_team: str
    authors: Authors = Field(default_factory=Authors)
    sentiment: SentimentConfig = Field(default_factory=SentimentConfig)
    complaint: ComplaintConfig = Field(default_factory=ComplaintConfig)
    rules: list[Rule] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)
    outcomes: StrList = Field(default_factory=lambda: list(DEFAULT_OUTCOMES))
    templates: list[Template] = Field(default_factory=list)
    reports: Reports = Field(default_factory=Reports)
    alerts: Alerts = Field(default_factory=Alerts)

    @field_validator("teams")
    @classmethod
    def _team_ids(cls, v: dict[str, Team]) -> dict[str, Team]:
        for name in v:
            if not re.match(r"^[a-z0-9][a-z0-9_\-]*$", name):
                raise ValueError(f"team id {name!r}: use lowercase letters, digits, - and _")
        return v

    @model_validator(mode="after")
    def _references(self) -> Rules:
        # Raised as a list so every bad reference is reported at once, each at its own line.
        from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

        errors = [InitErrorDetails(type=PydanticCustomError("reference", msg), loc=loc,
                                   input=None)
                  for loc, msg in reference_problems(self.model_dump(by_alias=True))]
        if errors:
            raise ValidationError.from_exception_data("Rules", errors)
        return self

    def team_of_rule(self, rule: Rule) -> Team | None:
        return self.teams.get(rule.then.team) if rule.then.team else None

    def source(self, source_id: str) -> SourceSpec | None:
        return next((s for s in self.sources if s.id == source_id), None)


def _check_tz(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{v!r} is not a known time zone (e.g. Europe/London, UTC)") from None
    return v


def priority_rank(p: str) -> int:
    """1 for P1 (most urgent) … 4 for P4."""
    return PRIORITIES.index(p) + 1


def most_urgent(*priorities: str | None) -> str | None:
    present = [p for p in priorities if p]
    return min(present, key=priority_rank) if present else None
