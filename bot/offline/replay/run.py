"""`socialbot replay FILE`: score and route the mentions in a file, a dry-run of the rules.

No Slack, no network, no database. The input (see `bot.offline.replay.input` for the formats) is read
as a stream, `BATCH` mentions at a time: a batch is parsed, then enriched, then routed, then
written out, so a file of 100,000 lines is never held in memory. `--json` writes one
decision per line as it goes; the table keeps only the `TABLE_ROWS` most urgent rows (a
bounded heap) and per-team counters for everything.

Each mention is scored as of the moment it arrived (its `created_at`), as the live bot would
have scored it, unless `run` is given a `now` to score everything as of that instant.

A bad line is reported on `err` as `file:line: problem`, skipped and counted; a file that
cannot be read at all gives exit code 2 and one such message, never a traceback.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.domain.mention import Mention
from bot.domain.rules.schema import PRIORITIES, Rules, priority_rank
from bot.domain.scoring.enrich import Enrichment, enrich
from bot.domain.scoring.routing import RouteDecision, route
from bot.offline.replay.input import Item, ReplayInputError, Skipped, detect_format, read_mentions
from bot.offline.replay.progress import ProgressBar, count_lines
from bot.offline.replay.threads import Threaded, Threads

__all__ = ["decision_record", "one_line", "run"]

TABLE_ROWS = 1000  # the table shows at most this many rows (the most urgent); counters see all
# Mentions per batch. Each stage (parse, enrich, route, write) runs over a whole batch before
# the next starts, which keeps its code and data (VADER's lexicon above all) in the CPU caches:
# about 10-15% faster than taking each mention through all the stages in turn, for the same
# output. Small, so memory stays flat and `--json` lines still come out steadily.
BATCH = 128
PROGRESS_MIN_LINES = 5000  # auto progress bar only above this many input lines
MAX_REPORTED_PROBLEMS = 100  # per-line messages on err; the rest are only counted
TEXT_WIDTH = 60


# --------------------------------------------------------------------------- output


def decision_record(mention: Mention, e: Enrichment, d: RouteDecision,
                    thread: Threaded | None = None) -> dict[str, Any]:
    """The `--json` object: the contract fields in contract order, then our extras.
    `thread`: the post's conversation (None: a conversation of its own)."""
    thread = thread or Threaded(mention.external_id, False)
    return {
        "id": mention.external_id,
        "team": d.team,
        "priority": d.priority,
        "score": int(e.score),
        "sentiment": e.sentiment,
        "compound": round(float(e.compound), 4),
        "author_type": e.author_type,
        "risk": list(d.risk),
        "approval_required": bool(d.approval_required),
        "outcome_hint": d.outcome_hint,
        "matched_rules": list(d.matched_rules),
        "complaint": bool(e.is_complaint),
        "complaint_probability": round(float(e.complaint_probability), 4),
        "lang": e.lang,
        "conversation_id": thread.conversation_id,
        "follow_up": thread.follow_up,
        # Extras, after the contract fields (consumers may ignore them): ids are unique per
        # network only; the handle and the score's parts say who and why.
        "network": mention.network,
        "author": mention.author.handle,
        "score_parts": dict(e.score_parts),
    }


_WS = re.compile(r"\s+")


def one_line(text: str, width: int) -> str:
    """Untrusted text made safe for one terminal line: no newlines, no control or format
    characters (escape sequences, bidi overrides), at most `width` characters."""
    s = _WS.sub(" ", text[: width * 4])
    s = "".join(ch for ch in s if unicodedata.category(ch)[0] != "C").strip()
    return s if len(s) <= width else s[: width - 1].rstrip() + "…"


def _why(e: Enrichment, d: RouteDecision) -> str:
    if d.matched_rules:
        return ", ".join(d.matched_rules)
    parts = sorted(((v, k) for k, v in e.score_parts.items() if v), reverse=True)[:3]
    return ", ".join(f"{k} {v:+d}" for v, k in parts) or "-"


_ENCODE = json.JSONEncoder(ensure_ascii=True).encode  # what `json.dumps` does, pre-bound


class JsonOut:
    """`--json`: one `decision_record` per line, exactly as `json.dumps` writes it.

    The line is put together here, in about half the time that building the record and
    encoding it takes (the encoder is set up afresh on every call): most values recur (team,
    priority, sentiment, rule names, score part names) and their JSON is kept; an id or a
    handle that needs no escaping is quoted as is; the rest are numbers. A value of an
    unexpected type (not a str, a bool where an int is expected, …) sends the whole record
    through the encoder instead, so the bytes are those of `json.dumps(decision_record(...))`
    either way (a test compares the two on arbitrary values).
    """

    _KNOWN_MAX = 4096  # recurring values kept; when full the table starts over

    def __init__(self, out: TextIO):
        self._write = out.write
        self._known: dict[object, str] = {}

    def add(self, mention: Mention, e: Enrichment, d: RouteDecision,
            thread: Threaded | None = None) -> None:
        thread = thread or Threaded(mention.external_id, False)
        try:
            line = self._line(mention, e, d, thread)
        except _Unusual:
            line = _ENCODE(decision_record(mention, e, d, thread))
        self._write(line + "\n")

    def _line(self, mention: Mention, e: Enrichment, d: RouteDecision,
              thread: Threaded) -> str:
        known = self._known_json
        parts = ", ".join([self._part(k, v) for k, v in e.score_parts.items()])
        approval = "true" if d.approval_required else "false"
        return (
            f'{{"id": {_plain_json(mention.external_id)}, "team": {known(d.team)}, '
            f'"priority": {known(d.priority)}, "score": {int(e.score)}, '
            f'"sentiment": {known(e.sentiment)}, '
            f'"compound": {_float_json(round(float(e.compound), 4))}, '
            f'"author_type": {known(e.author_type)}, "risk": {known(tuple(d.risk))}, '
            f'"approval_required": {approval}, "outcome_hint": {known(d.outcome_hint)}, '
            f'"matched_rules": {known(tuple(d.matched_rules))}, '
            f'"complaint": {"true" if e.is_complaint else "false"}, '
            f'"complaint_probability": {_float_json(round(float(e.complaint_probability), 4))}, '
            f'"lang": {known(e.lang)}, '
            f'"conversation_id": {_plain_json(thread.conversation_id)}, '
            f'"follow_up": {"true" if thread.follow_up else "false"}, '
            f'"network": {known(mention.network)}, '
            f'"author": {_plain_json(mention.author.handle)}, "score_parts": {{{parts}}}}}'
        )

    def _known_json(self, value: object) -> str:
        """The JSON of a recurring str, None or tuple of str."""
        key = (type(value), value)
        try:
            found = self._known.get(key)
        except TypeError:  # unhashable
            raise _Unusual from None
        if found is None:
            if not (value is None or type(value) is str
                    or (type(value) is tuple and all(type(v) is str for v in value))):
                raise _Unusual
            if len(self._known) >= self._KNOWN_MAX:
                self._known.clear()
            found = self._known[key] = _ENCODE(value)
        return found

    def _part(self, name: object, points: object) -> str:
        # json.dumps would write a key that is not a str, and a bool or a float, differently
        if type(name) is not str or type(points) is not int:
            raise _Unusual
        return f"{self._known_json(name)}: {points}"

    def finish(self, skipped: int) -> None:
        pass


class _Unusual(Exception):
    """A value `JsonOut` does not put together itself; the encoder does."""


def _float_json(x: float) -> str:
    return repr(x) if math.isfinite(x) else _ENCODE(x)  # json.dumps: NaN, Infinity


def _plain_json(s: object) -> str:
    """A str as JSON: quoted as is when nothing in it needs escaping (printable ASCII, no quote
    or backslash), which is what ids and handles nearly always are."""
    if type(s) is not str:
        raise _Unusual
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return f'"{s}"'
    return _ENCODE(s)


_COUNTERS = 8  # per team: mentions, P1..P4, approvals, negative, complaints


class _Table:
    """The most urgent `TABLE_ROWS` rows (a bounded heap) and per-team counters for all."""

    def __init__(self, rules: Rules, out: TextIO, limit: int):
        self._out = out
        self._limit = max(0, limit)
        self._heap: list[tuple[tuple[int, int, int], tuple[str, ...]]] = []
        self._seq = 0
        self._teams: dict[str, list[int]] = {t: [0] * _COUNTERS for t in rules.teams}
        self.total = 0

    def add(self, mention: Mention, e: Enrichment, d: RouteDecision) -> None:
        self.total += 1
        rank = priority_rank(d.priority)
        # count, P1..P4, approvals, negative, complaints
        c = self._teams.setdefault(d.team, [0] * _COUNTERS)
        c[0] += 1
        c[rank] += 1
        c[5] += bool(d.approval_required)
        c[6] += e.sentiment == "negative"
        c[7] += e.is_complaint
        self._seq += 1
        key = (-rank, int(e.score), -self._seq)  # heap top = the least urgent row kept
        if len(self._heap) >= self._limit:
            if not self._heap or key <= self._heap[0][0]:
                return
            heapq.heapreplace(self._heap, (key, self._row(mention, e, d)))
        else:
            heapq.heappush(self._heap, (key, self._row(mention, e, d)))

    @staticmethod
    def _row(mention: Mention, e: Enrichment, d: RouteDecision) -> tuple[str, ...]:
        handle = one_line(mention.author.handle, 24).replace(" ", "") or "?"
        return (d.priority, str(int(e.score)), one_line(d.team, 20), e.sentiment,
                f"@{handle} ({e.author_type})", "yes" if d.approval_required else "-",
                one_line(mention.text, TEXT_WIDTH), one_line(_why(e, d), 80))

    def finish(self, skipped: int) -> None:
        w = self._out.write
        rows = [row for _, row in sorted(self._heap, reverse=True)]
        header = ("PRI", "SCORE", "TEAM", "SENTIMENT", "AUTHOR", "APPROVAL", "TEXT", "WHY")
        if rows:
            widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
            right = {1}  # numbers right-aligned

            def fmt(cells: tuple[str, ...]) -> str:
                out = [c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                       for i, c in enumerate(cells)]
                return "  ".join(out).rstrip() + "\n"

            w(fmt(header))
            for row in rows:
                w(fmt(row))
            if self.total > len(rows):
                w(f"… {self.total - len(rows):,} more (the table shows the {len(rows):,} most "
                  "urgent; the summary counts all)\n")
        else:
            w("No mentions.\n")
        w("\nBy team\n")
        cols = ("TEAM", "MENTIONS", *PRIORITIES, "APPROVALS", "NEGATIVE", "COMPLAINTS")
        lines = []
        totals = [0] * _COUNTERS
        for team, c in self._teams.items():
            lines.append((one_line(team, 20), *self._counts(c)))
            totals = [a + b for a, b in zip(totals, c, strict=True)]
        lines.append(("total", *self._counts(totals)))
        widths = [max(len(cols[i]), *(len(ln[i]) for ln in lines)) for i in range(len(cols))]
        for cells in (cols, *lines):
            w("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                        for i, c in enumerate(cells)).rstrip() + "\n")
        w(f"\n{self.total:,} mention{'s' if self.total != 1 else ''} replayed, "
          f"{skipped:,} skipped\n")

    @staticmethod
    def _counts(c: list[int]) -> tuple[str, ...]:
        shares = (f"{round(100 * n / c[0])}%" if c[0] else "-" for n in c[6:8])
        return (f"{c[0]:,}", *(f"{n:,}" for n in c[1:5]), f"{c[5]:,}", *shares)


class _Problems:
    """`file:line: problem` on err, the first `MAX_REPORTED_PROBLEMS` of them; all counted."""

    def __init__(self, name: str, err: TextIO, bar: ProgressBar | None):
        self._name, self._err, self._bar = name, err, bar
        self.count = 0

    def add(self, item: Skipped) -> None:
        self.count += 1
        if self.count <= MAX_REPORTED_PROBLEMS:
            if self._bar:
                self._bar.clear()
            self._err.write(f"{self._name}:{item.line}: {item.problem}\n")

    def finish(self) -> None:
        if self.count > MAX_REPORTED_PROBLEMS:
            self._err.write(f"{self._name}: … {self.count - MAX_REPORTED_PROBLEMS:,} more "
                            f"problems not shown ({self.count:,} skipped in all)\n")


def _progress_bar(path: str, kind: str, err: TextIO, forced: bool | None) -> ProgressBar | None:
    """A bar when `forced`; when None, only for a big line-by-line file on a terminal."""
    if forced is False or (forced is None and kind == "json"):  # a document is read at once
        return None
    if forced is None:
        isatty = getattr(err, "isatty", None)
        try:
            if not (isatty and isatty()):
                return None
        except ValueError:  # a closed stream
            return None
        try:
            if os.path.getsize(path) < PROGRESS_MIN_LINES * 16:  # too small to need one
                return None
        except OSError:
            return None
    total = count_lines(path)
    if forced is None and total <= PROGRESS_MIN_LINES:
        return None
    return ProgressBar(err, total, noun="mentions")


# --------------------------------------------------------------------------- entry point


def _reading(items: Iterator[Item]) -> Iterator[Item]:
    """`items`, with an I/O error while reading the input turned into a `ReplayInputError`."""
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except OSError as exc:  # e.g. the file vanished, or a disk error mid-read
            raise ReplayInputError.cannot_read(exc) from None
        yield item


def _in_batches(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    """`items` in lists of up to `size`. A `ReplayInputError` while one is being filled is
    raised after the items read before it have been yielded, so that they are still replayed."""
    batch: list[Item] = []
    try:
        for item in items:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
    except ReplayInputError:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class _ReadOnce:
    """`clock()`, read the first time it is needed and the same instant after that."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock: Callable[[], datetime] = clock
        self._at: datetime | None = None

    def __call__(self) -> datetime:
        if self._at is None:
            self._at = self._clock()
        return self._at


def _replay_batch(batch: list[Item], rules: Rules, now: datetime | None,
                  unknown: _ReadOnce, problems: _Problems
                  ) -> list[tuple[int, Mention, Enrichment, RouteDecision]]:
    """(line, mention, its scores, its routing) for the readable items of `batch`; the rest
    go to `problems`."""
    todo: list[tuple[int, Mention, datetime]] = []  # (line, mention, scoring time)
    for item in batch:
        if isinstance(item, Skipped):
            problems.add(item)
            continue
        line, mention = item
        todo.append((line, mention, now or mention.created_at or unknown()))
    # enrich/route are pure and total over valid mentions: an exception there is a bug to
    # see, not an input problem to skip, so it is not caught here (and the batch's decisions
    # are not written).
    scored = [enrich(mention, rules, now=at) for _, mention, at in todo]
    routed = [route(m, e, rules) for (_, m, _), e in zip(todo, scored, strict=True)]
    return [(line, m, e, d) for (line, m, _), e, d in zip(todo, scored, routed, strict=True)]


def run(path: str, rules: Rules, *, as_json: bool, out: TextIO, err: TextIO,
        now: datetime | None = None, clock: Callable[[], datetime] = _wall_clock,
        progress: bool | None = None) -> int:
    """Replay the mentions in `path` through enrich + route; 0 on success, 2 when the file
    cannot be read (with `file:line: problem` on `err`). Bad lines are reported and skipped.

    Scoring time: with `now`, every mention is scored as of that instant; without it, each
    as of its own `created_at` (what the live bot would have decided on arrival), and one
    without a time as of `clock()`, read once when the first such mention comes.
    """
    name = os.fspath(path)
    try:
        kind = detect_format(name)
    except ReplayInputError as exc:
        err.write(f"{name}:{exc.line}: {exc.message}\n")
        return 2
    bar = _progress_bar(name, kind, err, progress)
    problems = _Problems(name, err, bar)
    sink: JsonOut | _Table = JsonOut(out) if as_json else _Table(rules, out, TABLE_ROWS)
    unknown = _ReadOnce(clock)  # the scoring time of mentions without one
    threads = Threads()
    mentions = 0
    try:
        for batch in _in_batches(_reading(read_mentions(name, rules, kind)), BATCH):
            for line, mention, e, d in _replay_batch(batch, rules, now, unknown, problems):
                if isinstance(sink, JsonOut):
                    sink.add(mention, e, d, threads.place(mention))
                else:
                    sink.add(mention, e, d)
                mentions += 1
                if bar is not None:
                    bar.tick(line)
    except ReplayInputError as exc:
        if bar is not None:
            bar.clear()
        err.write(f"{name}:{exc.line}: {exc.message}\n")
        return 2
    except BrokenPipeError:  # `socialbot replay … | head`: the reader has what it wanted
        return 0
    except OSError as exc:  # writing the output failed (disk full, …); reading is _reading's
        if bar is not None:
            bar.clear()
        err.write(f"{name}: cannot write the output: {exc.strerror or exc}\n")
        return 2
    finally:
        threads.close()  # its temporary file of spilled posts goes with it
    if bar is not None:
        bar.close()
    problems.finish()
    if mentions == 0 and problems.count:
        err.write(f"{name}:0: no mention could be read ({problems.count:,} "
                  f"problem{'s' if problems.count != 1 else ''})\n")
        return 2
    sink.finish(problems.count)
    if as_json and problems.count:
        err.write(f"{name}: {mentions:,} mentions replayed, {problems.count:,} skipped\n")
    return 0
