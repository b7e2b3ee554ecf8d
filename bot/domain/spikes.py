"""Spike (crisis) detection. PURE: counts in, decision out; no I/O, no clock.

Four kinds of rate are watched (`alerts.spike` in the rules file): all mentions, negative
ones, complaints (bot.domain.scoring.complaint's flag: in any language scoring reads, where a
post whose sentiment is `unknown` is never negative), and each risk rule (a rule whose `then`
sets a risk) by the mentions it matched. Each is counted in the last `window` and compared with
a baseline:

- the same hour of day over the last 4 weeks: the mean count in the same `window` one day
  ago, two days ago, … 28 days ago (only days the history fully covers), when at least
  `MIN_SAME_HOUR_DAYS` of them exist: the desk's daily rhythm is not a spike;
- otherwise (a young database) the trailing average: the rate over what history there is
  (at most `TRAILING` before the window), scaled to one window;
- with less history than one window, no baseline (0): only `min_mentions` applies.

A rate is over when it is at least `min_mentions` and at least `factor` × its baseline.

`plan` turns that into what to do with the alert state: raise a new alert, update the alert
of the storm going on (the last alert seen over threshold less than `cooldown` ago), or
nothing. So one storm raises one alert, later runs update it, and a storm that comes back
after a quiet `cooldown` raises a new one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.rules.schema import Rules

ALL = "all"
NEGATIVE = "negative"
COMPLAINTS = "complaints"
RULE_PREFIX = "rule:"
SAME_HOUR_DAYS = 28  # "the last 4 weeks"
MIN_SAME_HOUR_DAYS = 7  # fewer same-hour samples than this: use the trailing average
TRAILING = timedelta(days=7)  # at most this much history feeds the trailing average


class Mode(StrEnum):
    SAME_HOUR = "same_hour"
    TRAILING = "trailing"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class BaselinePlan:
    """Which periods to count for the baseline, and how to turn their total into a per-window
    rate: `baseline = total * scale`."""

    mode: Mode
    periods: tuple[tuple[datetime, datetime], ...]
    scale: float

    def rate(self, total: int) -> float:
        return total * self.scale


@dataclass(frozen=True, slots=True)
class Metric:
    key: str  # all | negative | complaints | rule:<name>
    count: int
    baseline: float
    over: bool

    @property
    def ratio(self) -> float | None:
        """count / baseline; None when there is no baseline to divide by."""
        return self.count / self.baseline if self.baseline > 0 else None

    @property
    def label(self) -> str:
        return metric_label(self.key)


class Action(StrEnum):
    RAISE = "raise"
    UPDATE = "update"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Active:
    """The latest alert: when it was last seen over threshold."""

    alert_id: int
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    over: tuple[Metric, ...]
    alert_id: int | None = None  # the alert to update


def rule_key(name: str) -> str:
    return f"{RULE_PREFIX}{name}"


def metric_label(key: str) -> str:
    if key == ALL:
        return "All mentions"
    if key == NEGATIVE:
        return "Negative mentions"
    if key == COMPLAINTS:
        return "Complaints"
    return f"Rule: {key.removeprefix(RULE_PREFIX)}"


def risk_rules(rules: Rules) -> tuple[str, ...]:
    """The enabled rules that flag a risk: each is watched as its own rate."""
    return tuple(r.name for r in rules.rules if r.enabled and r.then.risk)


def window_of(now: datetime, window: timedelta) -> tuple[datetime, datetime]:
    return now - window, now


def baseline_plan(now: datetime, window: timedelta, history_start: datetime | None) -> BaselinePlan:
    """The periods whose counts make the baseline of the window ending `now`.

    `history_start`: the earliest mention stored (None: none at all)."""
    start = now - window
    if history_start is None:
        return BaselinePlan(Mode.NONE, (), 0.0)
    same_hour = tuple((start - timedelta(days=k), now - timedelta(days=k))
                      for k in range(1, SAME_HOUR_DAYS + 1)
                      if start - timedelta(days=k) >= history_start)
    if len(same_hour) >= MIN_SAME_HOUR_DAYS:
        return BaselinePlan(Mode.SAME_HOUR, same_hour, 1.0 / len(same_hour))
    begin = max(history_start, start - TRAILING)
    span = start - begin
    if span < window:
        return BaselinePlan(Mode.NONE, (), 0.0)
    return BaselinePlan(Mode.TRAILING, ((begin, start),), window / span)


def evaluate(counts: Mapping[str, int], baselines: Mapping[str, float], *, factor: float,
             min_mentions: int) -> tuple[Metric, ...]:
    """Every watched rate with its baseline and whether it is over; `counts` has a key for
    each watched rate (0 included), `baselines` may lack keys (0)."""
    out = []
    for key, count in counts.items():
        base = max(0.0, float(baselines.get(key, 0.0)))
        over = count >= min_mentions and count >= factor * base
        out.append(Metric(key, int(count), base, over))
    return tuple(sorted(out, key=_order))


_FIRST = (ALL, NEGATIVE, COMPLAINTS)  # then the rules, by name


def _order(m: Metric) -> tuple[int, str]:
    return (_FIRST.index(m.key) if m.key in _FIRST else len(_FIRST), m.key)


def plan(now: datetime, metrics: Iterable[Metric], latest: Active | None,
         cooldown: timedelta) -> Decision:
    """Raise, update or nothing (see the module's docstring)."""
    over = tuple(m for m in metrics if m.over)
    if not over:
        return Decision(Action.NONE, over)
    if latest is not None and now - latest.last_seen_at < cooldown:
        return Decision(Action.UPDATE, over, latest.alert_id)
    return Decision(Action.RAISE, over)


# --- what the storm is about ----------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_][\w'’-]{2,}", re.UNICODE)
_URLISH = re.compile(r"https?://\S+|www\.\S+|[@#]\w+")
_STOPWORDS = """
a about after again all also am an and any are aren't as at be because been before being but
by can can't cannot could couldn't did didn't do does doesn't doing don't for from get got had
has hasn't have haven't having he her here hers him his how i i'm i've if in into is isn't it
it's its just me more most my no nor not now of off on once only or other our ours out over
own same she should so some still such than that that's the their theirs them then there
these they they're this those through to too under until up very was wasn't we we're were
weren't what when where which while who whom why will with won't would you you're your yours
yet via amp rt one two im ive dont cant wont thats
"""
STOPWORDS = frozenset(_STOPWORDS.split())


def top_words(texts: Iterable[str], *, most: int = 8, ignore: Iterable[str] = ()) -> list[
        tuple[str, int]]:
    """The most common words across `texts`, each counted once per text: links, @handles,
    #tags, numbers, stopwords and `ignore` (the brand's own name) left out."""
    skip = STOPWORDS | {w.lower() for w in ignore}
    counts: Counter[str] = Counter()
    for text in texts:
        words = {w.lower().strip("'’-") for w in _WORD.findall(_URLISH.sub(" ", text))}
        counts.update(w for w in words if len(w) > 2 and w not in skip)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:most]
