"""PURE `socialbot tune`: rule changes proposed from the corrections staff made on cards, each
checked by replaying the stored history with the changed rules.

Input: `Case`s, one per stored mention (rebuilt as a `bot.domain.mention.Mention`, with what staff said
its sentiment / priority / author type / team should have been, if anything). Output:
`Proposal`s, each a small change of the rules file with its `Effect` on the history:

- lexicon: words over-represented in the mentions staff moved towards negative (or positive),
  with the valence (from a small grid) that puts most of them right on replay; per language
  (`sentiment.lexicon` for English, `sentiment.lexicons.<lang>` for one scoring reads);
- authors: handles staff re-typed, added to that `authors.<type>` list (and taken out of a list
  that outranks it);
- rule: a new `text_matches` rule for a repeated reassignment ("care → sales") or a repeated
  raise of priority, on the words or word pairs that single those mentions out;
- rule priority dropped: a rule whose `priority` staff lowered again and again;
- complaint cues: words or word pairs over-represented in the mentions staff marked a complaint
  that are still not flagged, per language (`complaint.cues.<lang>`, `en` too);
- complaint threshold: a shift of the flag's probability threshold (`complaint.threshold_shift`)
  from a small grid, when staff's complaint corrections lean one way near it.

Replay is `bot.domain.scoring.enrich.enrich` + `bot.domain.scoring.routing.route` with the changed `Rules` in memory, as of
each mention's arrival, on the rules alone (a type staff set on an author is not applied: the
point is what the rules file would do). Only the mentions a change can affect are scored again:
those containing the lexicon word, those by the listed handles; a rule change re-routes every
mention with its stored enrichment (enrichment does not read `rules:`).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from bot.domain.mention import Mention
from bot.domain.rules.schema import SENTIMENTS, Rules, priority_rank
from bot.domain.scoring import complaint, multilingual
from bot.domain.scoring.cues import lower_for_matching
from bot.domain.scoring.enrich import Enrichment, enrich
from bot.domain.scoring.routing import RouteDecision, route

FIELDS = ("sentiment", "priority", "author_type", "team", "complaint")
COMPLAINT, NOT_COMPLAINT = "complaint", "not_complaint"  # the complaint field's two values
THRESHOLD_SHIFTS = (-0.2, -0.15, -0.1, -0.05, 0.05, 0.1, 0.15, 0.2)  # tried, smallest first
LISTABLE_TYPES = ("customer", "press", "competitor", "advocate", "vip")  # authors.* lists
# Authors.type_of tries the lists in this order: a handle in an earlier list wins.
LIST_PRECEDENCE = ("competitor", "press", "vip", "advocate", "customer")
VALENCES = (1.5, 2.5, 3.5)  # magnitudes tried for a lexicon word, smallest that works best wins
MAX_WORD_CANDIDATES = 8  # per direction: each is replayed VALENCES times
MAX_TERMS = 3  # words / word pairs in one proposed rule
MIN_PRECISION = 0.6  # of a rule's terms: share of the mentions it would move that staff moved
EXAMPLES = 3
_STOPWORDS_TEXT = """
a about after again all also am an and any are as at be been before being but by can could
did do does doing for from get got had has have having he her here him his how i if in into is
it its it's just me more my no not now of on one or our out over she so some than that the
their them then there these they this to too up us very was we were what when where which who
why will with would you your i'm im u ur via amp rt http https co www com
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
_WORD = re.compile(r"[a-z][a-z0-9]*(?:'[a-z]+)*")
_SENTIMENT_RANK = {s: i for i, s in enumerate(SENTIMENTS)}  # negative 0 < neutral < positive


# --- input ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Case:
    """One stored mention: what scoring saw, when, and what staff corrected (last word wins)."""

    mention_id: int
    mention: Mention
    at: datetime  # when it was scored (ingested): replay scores it as of then
    truth: dict[str, str] = field(default_factory=dict)  # field → the value staff set last
    was: dict[str, str] = field(default_factory=dict)  # field → what it was before staff's fix


def words_of(text: str) -> list[str]:
    return _WORD.findall(lower_for_matching(text).replace("’", "'"))


# --- replay -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Outcome:
    sentiment: str
    priority: str
    author_type: str
    team: str
    complaint: str  # COMPLAINT | NOT_COMPLAINT: the card's flag
    enrichment: Enrichment = field(compare=False, repr=False)
    decision: RouteDecision = field(compare=False, repr=False)

    def get(self, name: str) -> str:
        return getattr(self, name)


def score(case: Case, rules: Rules) -> Outcome:
    e = enrich(case.mention, rules, now=case.at)
    return _routed(case, e, rules)


def _routed(case: Case, e: Enrichment, rules: Rules) -> Outcome:
    d = route(case.mention, e, rules)
    return Outcome(e.sentiment, d.priority, e.author_type, d.team,
                   COMPLAINT if e.is_complaint else NOT_COMPLAINT, e, d)


@dataclass(frozen=True, slots=True)
class FieldEffect:
    corrected: int  # mentions staff corrected on this field
    right_before: int  # of those, how many the current rules get right on replay
    right_after: int  # … and the changed rules
    fixed: tuple[int, ...]  # mention ids: wrong before, right after
    broken: tuple[int, ...]  # right before, wrong after
    changed_others: int  # mentions not corrected on this field whose value changes

    def as_json(self) -> dict[str, Any]:
        return {"corrected": self.corrected, "right_before": self.right_before,
                "right_after": self.right_after, "fixed": list(self.fixed),
                "broken": list(self.broken), "changed_others": self.changed_others}


@dataclass(frozen=True, slots=True)
class Change:
    """One mention whose replayed value of a field changes (for examples)."""

    mention_id: int
    field: str
    before: str
    after: str
    corrected_to: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Effect:
    fields: dict[str, FieldEffect]
    changes: tuple[Change, ...]  # every changed value, corrected or not

    def of(self, name: str) -> FieldEffect:
        return self.fields[name]

    def as_json(self) -> dict[str, Any]:
        return {"fields": {k: v.as_json() for k, v in self.fields.items()},
                "changed_mentions": len({c.mention_id for c in self.changes})}


class Replay:
    """The history scored once with the current rules; `effect(rules')` replays what changes."""

    def __init__(self, cases: Sequence[Case], rules: Rules):
        self.cases = list(cases)
        self.rules = rules
        self.base = [score(c, rules) for c in self.cases]
        self.low = [lower_for_matching(c.mention.text) for c in self.cases]
        self.handles = [c.mention.author.handle.lstrip("@").lower() for c in self.cases]

    def effect(self, changed: Rules, *, words: Iterable[str] = (),
               handles: Iterable[str] = (), routing_only: bool = False,
               probability_within: tuple[float, float] | None = None) -> Effect:
        """Replay with `changed`. Say what the change touches, so only those mentions are
        scored again: `words` (lexicon entries and complaint cues: only texts containing one
        can score differently), `handles` (author lists), `routing_only` (only `rules:`
        changed: keep each enrichment, route again), or `probability_within` (a complaint
        threshold moved: only mentions whose complaint probability lies in that closed range
        can change). With none of them, everything is scored again."""
        words, handles = [w.lower() for w in words], {h.lstrip("@").lower() for h in handles}
        lo, hi = probability_within or (0.0, 1.0)
        after: list[Outcome] = []
        for i, case in enumerate(self.cases):
            if routing_only:
                after.append(_routed(case, self.base[i].enrichment, changed))
            elif not lo <= self.base[i].enrichment.complaint_probability <= hi or (
                    (words or handles) and not (
                        any(w in self.low[i] for w in words) or self.handles[i] in handles)):
                after.append(self.base[i])
            else:
                after.append(score(case, changed))
        return compare(self.cases, self.base, after)


def compare(cases: Sequence[Case], before: Sequence[Outcome],
            after: Sequence[Outcome]) -> Effect:
    counts = {f: {"corrected": 0, "rb": 0, "ra": 0, "other": 0} for f in FIELDS}
    fixed: dict[str, list[int]] = defaultdict(list)
    broken: dict[str, list[int]] = defaultdict(list)
    changes: list[Change] = []
    for case, b, a in zip(cases, before, after, strict=True):
        for f in FIELDS:
            bv, av, truth = b.get(f), a.get(f), case.truth.get(f)
            if truth is not None:
                c = counts[f]
                c["corrected"] += 1
                c["rb"] += bv == truth
                c["ra"] += av == truth
                if bv != truth and av == truth:
                    fixed[f].append(case.mention_id)
                elif bv == truth and av != truth:
                    broken[f].append(case.mention_id)
            elif bv != av:
                counts[f]["other"] += 1
            if bv != av:
                changes.append(Change(case.mention_id, f, bv, av, truth, case.mention.text))
    return Effect(
        fields={f: FieldEffect(c["corrected"], c["rb"], c["ra"], tuple(fixed[f]),
                               tuple(broken[f]), c["other"]) for f, c in counts.items()},
        changes=tuple(changes))


# --- changes to the rules (in memory) -----------------------------------------------------------
def _rebuilt(rules: Rules, edit: Any) -> Rules:
    data = rules.model_dump(by_alias=True, exclude_unset=True)
    edit(data)
    return Rules.model_validate(data)


def with_lexicon(rules: Rules, entries: dict[str, float], lang: str | None = None) -> Rules:
    """`entries` added to `sentiment.lexicon` (English), or to `sentiment.lexicons.<lang>`."""
    def edit(d: dict) -> None:
        sentiment = d.setdefault("sentiment", {})
        if lang is None:
            sentiment.setdefault("lexicon", {}).update(entries)
        else:
            sentiment.setdefault("lexicons", {}).setdefault(lang, {}).update(entries)
    return _rebuilt(rules, edit)


def with_complaint_cue(rules: Rules, lang: str, cue: str) -> Rules:
    """`cue` added to `complaint.cues.<lang>`."""
    def edit(d: dict) -> None:
        cues = d.setdefault("complaint", {}).setdefault("cues", {}).setdefault(lang, [])
        if cue not in cues:
            cues.append(cue)
    return _rebuilt(rules, edit)


def with_threshold_shift(rules: Rules, shift: float) -> Rules:
    def edit(d: dict) -> None:
        d.setdefault("complaint", {})["threshold_shift"] = shift
    return _rebuilt(rules, edit)


def author_lists_after(rules: Rules, kind: str, handles: Sequence[str]) -> dict[str, list[str]]:
    """The `authors.*` lists that change when `handles` become `kind`: the handles added to
    `kind`, and taken out of any list Authors.type_of would try first."""
    wanted = {h.lstrip("@").lower() for h in handles}
    out: dict[str, list[str]] = {}
    for other in LIST_PRECEDENCE[:LIST_PRECEDENCE.index(kind)]:
        current = list(getattr(rules.authors, other))
        kept = [h for h in current if h.lstrip("@").lower() not in wanted]
        if kept != current:
            out[other] = kept
    current = list(getattr(rules.authors, kind))
    present = {h.lstrip("@").lower() for h in current}
    out[kind] = current + [h for h in handles if h.lstrip("@").lower() not in present]
    return out


def with_author_lists(rules: Rules, lists: dict[str, list[str]]) -> Rules:
    def edit(d: dict) -> None:
        d.setdefault("authors", {}).update(lists)
    return _rebuilt(rules, edit)


def with_rule(rules: Rules, rule: dict[str, Any], before: int | None) -> Rules:
    def edit(d: dict) -> None:
        seq = d.setdefault("rules", [])
        seq.insert(len(seq) if before is None else before, rule)
    return _rebuilt(rules, edit)


def without_rule_priority(rules: Rules, index: int) -> Rules:
    def edit(d: dict) -> None:
        d["rules"][index]["then"].pop("priority", None)
    return _rebuilt(rules, edit)


# --- proposals --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Proposal:
    kind: str  # lexicon | authors | rule | rule_priority | complaint_cue | complaint_threshold
    field: str  # the correction field it answers
    title: str  # the change, in a line
    why: str  # the evidence, in a line
    edit: dict[str, Any]  # what bot.offline.tune.patch applies to the file (see `apply`)
    effect: Effect

    @property
    def net(self) -> int:
        fe = self.effect.of(self.field)
        return len(fe.fixed) - len(fe.broken)

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "field": self.field, "title": self.title, "why": self.why,
                "edit": self.edit, "effect": self.effect.as_json()}


def in_order(edits: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The order in which edits are applied, to the `Rules` (`apply`) and to the file's text
    (`bot.offline.tune.patch`) alike. Rule indexes are into the original `rules:` list, so rule
    insertions go last, from the bottom up (and, at one index, in reverse, so that they end up
    in the order given)."""
    edits = list(edits)
    inserts = [e for e in edits if e["op"] == "add_rule"]
    bottom_up = sorted(inserts, key=lambda e: math.inf if e["before"] is None else e["before"])
    return [e for e in edits if e["op"] != "add_rule"] + bottom_up[::-1]


def apply(rules: Rules, edits: Iterable[dict[str, Any]]) -> Rules:
    """The rules with every edit applied (see `in_order`)."""
    for e in in_order(edits):
        op = e["op"]
        if op == "lexicon":
            rules = with_lexicon(rules, {e["word"]: e["valence"]}, e.get("lang"))
        elif op == "authors":
            rules = with_author_lists(rules, author_lists_after(rules, e["kind"], e["handles"]))
        elif op == "drop_rule_priority":
            rules = without_rule_priority(rules, e["index"])
        elif op == "add_rule":
            rules = with_rule(rules, e["rule"], e["before"])
        elif op == "complaint_cue":
            rules = with_complaint_cue(rules, e["lang"], e["cue"])
        elif op == "complaint_threshold":
            rules = with_threshold_shift(rules, e["shift"])
        else:
            raise ValueError(f"unknown edit {op!r}")
    return rules


def propose(cases: Sequence[Case], rules: Rules, *, min_support: int = 3,
            replay: Replay | None = None) -> tuple[list[Proposal], Replay, list[str]]:
    """Every proposal that puts more corrected mentions right than it puts wrong on replay,
    best first within each kind; the replay (for the baseline figures); and notes."""
    replay = replay or Replay(cases, rules)
    notes: list[str] = []
    proposals = [
        *_lexicon_proposals(replay, min_support),
        *_author_proposals(replay, notes),
        *_team_proposals(replay, min_support),
        *_priority_proposals(replay, min_support, notes),
        *_complaint_cue_proposals(replay, min_support),
        *_threshold_proposals(replay, min_support),
    ]
    return proposals, replay, notes


def _wrong(replay: Replay, name: str) -> list[int]:
    """Indexes of the cases corrected on `name` that the current rules still get wrong."""
    return [i for i, c in enumerate(replay.cases)
            if name in c.truth and replay.base[i].get(name) != c.truth[name]]


def _doc_terms(words: list[str], stop: frozenset[str], pairs: bool) -> set[str]:
    kept = [w for w in words if len(w) >= 3 and w not in stop and not w.isdigit()]
    out = set(kept)
    if pairs:
        out.update(f"{a} {b}" for a, b in pairwise(words)
                   if a not in stop or b not in stop
                   if len(a) > 1 and len(b) > 1 and not (a.isdigit() or b.isdigit()))
    return out


def _stopwords(rules: Rules) -> frozenset[str]:
    brand = [rules.brand.name, rules.brand.x_username or "", rules.brand.mastodon_acct or "",
             rules.brand.bluesky_handle or ""]
    return STOPWORDS | {w for b in brand for w in words_of(b.replace("@", " ").replace(".", " "))}


def _lexicon_language(replay: Replay, i: int) -> str | None:
    """The lexicon a word from mention i belongs in: None (English, `sentiment.lexicon`), a
    language scoring reads (`sentiment.lexicons.<lang>`), or "" (one it can't: no lexicon helps,
    the sentiment stays `unknown`)."""
    lang = replay.base[i].enrichment.lang
    if lang is None or lang == "en":
        return None
    return lang if lang in multilingual.languages() else ""


def _lexicon_proposals(replay: Replay, min_support: int) -> list[Proposal]:
    """Per language: English words go to `sentiment.lexicon`, a word of a language scoring reads
    to `sentiment.lexicons.<lang>` (its weights apply that language's lexicon only), each
    compared with the other mentions of its own language."""
    langs = [_lexicon_language(replay, i) for i in range(len(replay.cases))]
    out: list[Proposal] = []
    for lang in sorted({x for x in langs if x != ""}, key=lambda x: x or ""):
        out += _lexicon_proposals_in(replay, min_support, lang,
                                     [i for i, x in enumerate(langs) if x == lang])
    out.sort(key=lambda p: -p.net)
    return out


def _lexicon_proposals_in(replay: Replay, min_support: int, lang: str | None,
                          among: list[int]) -> list[Proposal]:
    sentiment = replay.rules.sentiment
    if lang is None:
        stop = _stopwords(replay.rules) | {w.lower() for w in sentiment.lexicon}
        docs = {i: set(words_of(replay.cases[i].mention.text)) for i in among}
        where = "sentiment.lexicon"
    else:  # no stopword list per language: the log-odds against the rest keeps common words out
        stop = _stopwords(replay.rules) | set(sentiment.lexicons.get(lang, {}))
        docs = {i: set(multilingual.tokens(replay.low[i])) for i in among}
        where = f"sentiment.lexicons.{lang}"
    out: list[Proposal] = []
    wrong = set(_wrong(replay, "sentiment"))
    for sign, label in ((-1, "negative"), (1, "positive")):
        # Still wrong, and staff moved them this way (towards negative, or towards positive).
        group = [i for i in among if i in wrong
                 and _direction(replay.base[i].sentiment, replay.cases[i].truth["sentiment"])
                 == sign]
        if len(group) < min_support:
            continue
        in_group = set(group)
        g = Counter(w for i in group for w in docs[i] if len(w) >= 3 and w not in stop
                    and not w.isdigit())
        rest = Counter(w for i in among if i not in in_group for w in docs[i])
        n_rest = len(among) - len(group)
        ranked = sorted(
            ((_log_odds(g[w], len(group), rest[w], n_rest), w) for w in g if g[w] >= min_support),
            reverse=True)
        for ratio, word in ranked[:MAX_WORD_CANDIDATES]:
            if ratio < math.log(2):
                break
            best: tuple[int, float, Effect] | None = None
            for magnitude in VALENCES:
                valence = sign * magnitude
                effect = replay.effect(with_lexicon(replay.rules, {word: valence}, lang),
                                       words=[word])
                fe = effect.of("sentiment")
                net = len(fe.fixed) - len(fe.broken)
                if net > 0 and (best is None or net > best[0]):
                    best = (net, valence, effect)
            if best is None:
                continue
            _, valence, effect = best
            out.append(Proposal(
                kind="lexicon", field="sentiment",
                title=f"add {word!r}: {valence:+.1f} to {where}",
                why=(f"in {g[word]} of the {len(group)} mentions staff moved towards {label} "
                     f"and still scored wrong, in {rest[word]} of the {n_rest} others"
                     + ("" if lang is None else f" in {lang}")),
                edit={"op": "lexicon", "word": word, "valence": valence,
                      **({} if lang is None else {"lang": lang})}, effect=effect))
    return out


def _direction(before: str, after: str) -> int:
    # `unknown` (a language scoring can't read) sits where neutral does.
    d = _SENTIMENT_RANK.get(after, 1) - _SENTIMENT_RANK.get(before, 1)
    return (d > 0) - (d < 0)


def _log_odds(k: int, n: int, k_rest: int, n_rest: int) -> float:
    return math.log((k + 0.5) / (n + 1)) - math.log((k_rest + 0.5) / (n_rest + 1))


def _author_proposals(replay: Replay, notes: list[str]) -> list[Proposal]:
    latest: dict[str, tuple[str, str]] = {}  # handle → (type staff set, handle as written)
    for i in _wrong(replay, "author_type"):
        case = replay.cases[i]
        latest[replay.handles[i]] = (case.truth["author_type"], case.mention.author.handle)
    by_kind: dict[str, list[str]] = defaultdict(list)
    unlistable: Counter[str] = Counter()
    for kind, handle in latest.values():
        if kind in LISTABLE_TYPES:
            by_kind[kind].append(handle.lstrip("@"))
        else:
            unlistable[kind] += 1
    for kind, n in sorted(unlistable.items()):
        notes.append(f"{n} author(s) corrected to {kind}: the rules file has no {kind} list "
                     + ("(influencer comes from authors.influencer_min_followers)"
                        if kind == "influencer" else "(brand is the brand's own handles)"))
    out = []
    for kind in LISTABLE_TYPES:
        handles = sorted(set(by_kind.get(kind, ())), key=str.lower)
        if not handles:
            continue
        lists = author_lists_after(replay.rules, kind, handles)
        effect = replay.effect(with_author_lists(replay.rules, lists), handles=handles)
        moved = [k for k in lists if k != kind]
        proposal = Proposal(
            kind="authors", field="author_type",
            title=f"add {', '.join(handles)} to authors.{kind}"
                  + (f" (out of authors.{', authors.'.join(moved)})" if moved else ""),
            why=f"staff marked {'this author' if len(handles) == 1 else 'these authors'} "
                f"as {kind}",
            edit={"op": "authors", "kind": kind, "handles": handles}, effect=effect)
        if proposal.net > 0:
            out.append(proposal)
    out.sort(key=lambda p: -p.net)
    return out


def _rule_terms(replay: Replay, group: list[int], others: list[int], min_support: int,
                stop: frozenset[str]) -> list[tuple[str, int, int]]:
    """Up to MAX_TERMS words or word pairs that single out the `group` mentions from `others`
    (the mentions the rule would change wrongly): greedy, each term adding at least two new
    group mentions (the first at least min_support) at precision ≥ MIN_PRECISION.
    Returns (term, group hits, other hits) in order of choice."""
    docs = {i: _doc_terms(words_of(replay.cases[i].mention.text), stop, pairs=True)
            for i in (*group, *others)}
    g = Counter(t for i in group for t in docs[i])
    o = Counter(t for i in others for t in docs[i])
    covered: set[int] = set()
    chosen: list[tuple[str, int, int]] = []
    candidates = [t for t in g if g[t] >= 2]
    while len(chosen) < MAX_TERMS:
        best: tuple[tuple, str, set[int]] | None = None
        for t in candidates:
            if any(t == c or t in c.split() or c in t.split() for c, _, _ in chosen):
                continue
            hits = {i for i in group if t in docs[i]} - covered
            need = min_support if not chosen else 2
            precision = g[t] / (g[t] + o[t])
            if len(hits) < need or precision < MIN_PRECISION:
                continue
            # most new mentions, then fewest wrong ones, then the single word, then by name
            key = (len(hits) - o[t], -o[t], -len(t.split()), t)
            if best is None or key > best[0]:
                best = (key, t, hits)
        if best is None:
            break
        _, t, hits = best
        covered |= hits
        chosen.append((t, g[t], o[t]))
    return chosen


def _pattern(term: str) -> str:
    return r"\b" + r"\s+".join(re.escape(w) for w in term.split()) + r"\b"


def _rule_name(rules: Rules, base: str) -> str:
    names = {r.name for r in rules.rules}
    name, n = base, 2
    while name in names:
        name, n = f"{base} {n}", n + 1
    return name


def _team_proposals(replay: Replay, min_support: int) -> list[Proposal]:
    stop = _stopwords(replay.rules)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i in _wrong(replay, "team"):
        groups[(replay.base[i].team, replay.cases[i].truth["team"])].append(i)
    index_of = {r.name: k for k, r in enumerate(replay.rules.rules)}
    out = []
    for (src, dst), group in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        if len(group) < min_support or dst not in replay.rules.teams:
            continue
        in_group = set(group)
        # Wrongly moved: routed to `src` now and not moved to `dst` by staff.
        others = [i for i, o in enumerate(replay.base) if o.team == src and i not in in_group
                  and replay.cases[i].truth.get("team") != dst]
        terms = _rule_terms(replay, group, others, min_support, stop)
        if not terms:
            continue
        # First `team` wins: go above the first rule that gave these mentions their team.
        givers = [index_of[n] for i in group for n in replay.base[i].decision.matched_rules
                  if n in index_of and replay.rules.rules[index_of[n]].then.team]
        before = min(givers) if givers else None
        name = _rule_name(replay.rules, f"tune: {src} to {dst}")
        rule = {"name": name, "when": {"text_matches": [_pattern(t) for t, _, _ in terms]},
                "then": {"team": dst}}
        effect = replay.effect(with_rule(replay.rules, rule, before), routing_only=True)
        words = ", ".join(f"{t!r} ({gh} of them, {oh} others)" for t, gh, oh in terms)
        where = (f"above rule {replay.rules.rules[before].name!r}" if before is not None
                 else "at the end of rules")
        p = Proposal(
            kind="rule", field="team",
            title=f"add rule {name!r} {where}: text matching "
                  f"{' or '.join(repr(t) for t, _, _ in terms)} → team {dst}",
            why=f"staff moved {len(group)} mentions from {src} to {dst}; terms: {words}",
            edit={"op": "add_rule", "rule": rule, "before": before}, effect=effect)
        if p.net > 0:
            out.append(p)
    return out


def _priority_proposals(replay: Replay, min_support: int, notes: list[str]) -> list[Proposal]:
    stop = _stopwords(replay.rules)
    raised: dict[str, list[int]] = defaultdict(list)
    lowered: dict[int, list[int]] = defaultdict(list)  # rule index → cases it over-raised
    lowered_by_score = 0
    index_of = {r.name: k for k, r in enumerate(replay.rules.rules)}
    for i in _wrong(replay, "priority"):
        truth, o = replay.cases[i].truth["priority"], replay.base[i]
        if priority_rank(truth) < priority_rank(o.priority):
            raised[truth].append(i)
            continue
        # Lowered: which rules made it this urgent? (only when the score alone was lower)
        if priority_rank(o.enrichment.priority) <= priority_rank(o.priority):
            lowered_by_score += 1
            continue
        for n in o.decision.matched_rules:
            k = index_of.get(n)
            if k is not None and replay.rules.rules[k].then.priority == o.priority:
                lowered[k].append(i)
    if lowered_by_score:
        notes.append(f"{lowered_by_score} priority correction(s) lower a priority the score "
                     "itself gave; a rule can only raise a priority, so no rule change fixes "
                     "those (they are material for the score's weights)")
    out = []
    for target, group in sorted(raised.items()):
        if len(group) < min_support:
            continue
        in_group = set(group)
        others = [i for i, o in enumerate(replay.base) if i not in in_group
                  and priority_rank(o.priority) > priority_rank(target)
                  and replay.cases[i].truth.get("priority") != target]
        terms = _rule_terms(replay, group, others, min_support, stop)
        if not terms:
            continue
        name = _rule_name(replay.rules, f"tune: raise to {target}")
        rule = {"name": name, "when": {"text_matches": [_pattern(t) for t, _, _ in terms]},
                "then": {"priority": target}}
        effect = replay.effect(with_rule(replay.rules, rule, None), routing_only=True)
        words = ", ".join(f"{t!r} ({gh} of them, {oh} others)" for t, gh, oh in terms)
        p = Proposal(
            kind="rule", field="priority",
            title=f"add rule {name!r} at the end of rules: text matching "
                  f"{' or '.join(repr(t) for t, _, _ in terms)} → priority {target}",
            why=f"staff raised {len(group)} mentions to {target}; terms: {words}",
            edit={"op": "add_rule", "rule": rule, "before": None}, effect=effect)
        if p.net > 0:
            out.append(p)
    for k, group in sorted(lowered.items()):
        if len(group) < min_support:
            continue
        r = replay.rules.rules[k]
        effect = replay.effect(without_rule_priority(replay.rules, k), routing_only=True)
        matched = sum(r.name in o.decision.matched_rules for o in replay.base)
        p = Proposal(
            kind="rule_priority", field="priority",
            title=f"remove `priority: {r.then.priority}` from rule {r.name!r}",
            why=f"staff lowered {len(group)} of the {matched} mentions it raised to "
                f"{r.then.priority}",
            edit={"op": "drop_rule_priority", "index": k, "name": r.name}, effect=effect)
        if p.net > 0:
            out.append(p)
    return out


def _cue_language(replay: Replay, i: int) -> str | None:
    """The `complaint.cues` list a cue from mention i belongs in: `en`, a language scoring
    reads, or None (one it can't: no cue helps, it is never flagged)."""
    lang = replay.base[i].enrichment.lang
    if lang is None or lang == "en":
        return "en"
    return lang if lang in multilingual.languages() else None


def _cue_terms(replay: Replay, i: int, lang: str, stop: frozenset[str]) -> set[str]:
    words = (words_of(replay.cases[i].mention.text) if lang == "en"
             else multilingual.tokens(replay.cases[i].mention.text.lower()))
    return _doc_terms(words, stop, pairs=True)


def _complaint_cue_proposals(replay: Replay, min_support: int) -> list[Proposal]:
    """Per language: the words or word pairs that single out the mentions staff marked a
    complaint and the rules still do not flag, against the other mentions of that language,
    each added to `complaint.cues.<lang>` if replaying it fixes more than it breaks."""
    langs = [_cue_language(replay, i) for i in range(len(replay.cases))]
    missed = [i for i in _wrong(replay, "complaint")
              if replay.cases[i].truth["complaint"] == COMPLAINT]
    out: list[Proposal] = []
    for lang in sorted({x for x in langs if x is not None}):
        group = [i for i in missed if langs[i] == lang]
        if len(group) < min_support:
            continue
        known = set(replay.rules.complaint.cues.get(lang, ()))
        stop = _stopwords(replay.rules) | known
        among = [i for i, x in enumerate(langs) if x == lang]
        in_group = set(group)
        docs = {i: _cue_terms(replay, i, lang, stop) for i in among}
        g = Counter(t for i in group for t in docs[i])
        rest = Counter(t for i in among if i not in in_group for t in docs[i])
        n_rest = len(among) - len(group)
        ranked = sorted(((_log_odds(g[t], len(group), rest[t], n_rest), t)
                         for t in g if g[t] >= min_support), reverse=True)
        for ratio, term in ranked[:MAX_WORD_CANDIDATES]:
            if ratio < math.log(2):
                break
            effect = replay.effect(with_complaint_cue(replay.rules, lang, term), words=[term])
            p = Proposal(
                kind="complaint_cue", field="complaint",
                title=f"add {term!r} to complaint.cues.{lang}",
                why=(f"in {g[term]} of the {len(group)} mentions staff marked a complaint that "
                     f"are still not flagged, in {rest[term]} of the {n_rest} others in {lang}"),
                edit={"op": "complaint_cue", "lang": lang, "cue": term}, effect=effect)
            if p.net > 0:
                out.append(p)
    out.sort(key=lambda p: -p.net)
    return out


def _threshold_proposals(replay: Replay, min_support: int) -> list[Proposal]:
    """One shift of the flag's threshold (`complaint.threshold_shift`), the smallest of the
    best on replay, when at least `min_support` complaint corrections are still wrong."""
    wrong = _wrong(replay, "complaint")
    if len(wrong) < min_support:
        return []
    missed = sum(replay.cases[i].truth["complaint"] == COMPLAINT for i in wrong)
    now = replay.rules.complaint.threshold_shift
    best: tuple[int, float, Effect] | None = None
    for step in sorted(THRESHOLD_SHIFTS, key=abs):
        shift = round(now + step, 2)
        if not -0.3 <= shift <= 0.3:
            continue
        # Only a mention whose probability lies between a threshold's old and new places
        # (the flag, review_from, mixed_from in English; the flag in the other languages) can
        # change: those are scored again.
        moved = _thresholds(now) + _thresholds(shift)
        effect = replay.effect(with_threshold_shift(replay.rules, shift),
                               probability_within=(min(moved), max(moved)))
        fe = effect.of("complaint")
        net = len(fe.fixed) - len(fe.broken)
        if net > 0 and (best is None or net > best[0]):
            best = (net, shift, effect)
    if best is None:
        return []
    _, shift, effect = best
    fe = effect.of("complaint")
    return [Proposal(
        kind="complaint_threshold", field="complaint",
        title=f"set complaint.threshold_shift to {shift:+.2f} (now {now:+.2f}): "
              f"{'more' if shift < now else 'fewer'} posts flagged a complaint",
        why=(f"of {fe.corrected} complaint corrections, {len(wrong)} still wrong on replay: "
             f"{missed} complaints not flagged, {len(wrong) - missed} flagged that are not"),
        edit={"op": "complaint_threshold", "shift": shift}, effect=effect)]


def _thresholds(shift: float) -> list[float]:
    """Every probability threshold `enrich` compares with, under `shift`."""
    m = complaint.model()
    return [complaint.shifted(t, shift) for t in
            (m.threshold, m.review_from, m.mixed_from, multilingual.complaint_threshold())]


# --- summary of the history ----------------------------------------------------------------------
def corrected_counts(cases: Sequence[Case]) -> dict[str, int]:
    return {f: sum(f in c.truth for c in cases) for f in FIELDS}


def right_now(replay: Replay) -> dict[str, int]:
    """Per field: corrected mentions the current rules already get right on replay."""
    return {f: sum(1 for i, c in enumerate(replay.cases)
                   if f in c.truth and replay.base[i].get(f) == c.truth[f]) for f in FIELDS}
