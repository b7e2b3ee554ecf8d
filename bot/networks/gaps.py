"""Gaps a page cap leaves, kept until later polls have read them (no post is ever skipped).

A burst bigger than a poll's page cap (a storm: 3,000 mentions at once) used to be cut: the
newest pages were read and the cursor moved past the rest. Now the source keeps what it did
not read as a `Gap` — posts newer than `newer_than` (the cursor the poll started from; the
first poll's `start_time`) and older than `older_than` (the oldest post it read) — in
`SourceState.backfill`, and the next polls read the gaps with the pages the new posts leave
over, newest gap first, until none is left. Every network pages its own way; each keeps its
bound in these fields (X and Mastodon: post ids; the others: the cursor's own form — a time —
and the network's page token: Bluesky's cursor, Reddit's `after` fullname, YouTube's
`pageToken`, Google Play's `token`, the App Store's `links.next`, Graph's `after`).

`Backfill` is the one way the token-paged sources (Bluesky's form, shared by Reddit, YouTube,
Google Play, the App Store, Threads, Facebook and Instagram comments) read: each gives a
function reading one page from a token, and `Backfill` reads newest first down to the cursor,
opens a gap when the page cap stops it, and continues the gaps with the pages left. A gap may
be `scope`d to one thread (a Facebook post's or an Instagram media's comments).

A network may refuse a page token it gave (Google's and YouTube's expire; a listing that
changed under it; Reddit lists nothing after a post that was removed): the source raises
`TokenRefused`, and the gap is read again from the newest page down to its floor. Pages read
twice cost reads, never a post: ingest stores a post once. Refused again no deeper than the
last time, the network cannot list older posts (Reddit's listings end at about 1,000): the gap
is closed with a WARNING naming what is out of reach, rather than read from the top at every
poll.

The state is JSON, stored on the `source` row beside the cursor, in the same transaction.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Generic, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


class TokenRefused(Exception):
    """The network refused a page token it gave earlier (expired, or the listing changed)."""


@dataclass(frozen=True, slots=True)
class Gap:
    older_than: str  # exclusive upper bound: the oldest post read (id or ISO time)
    newer_than: str | None = None  # exclusive lower bound: the cursor before the burst
    start_time: str | None = None  # the first poll's window start (ISO) when it had no cursor
    token: str | None = None  # the network's page cursor to resume exactly where it stopped
    scope: str | None = None  # the thread the gap is in (a post's comments), when not the source
    refused_at: str | None = None  # `older_than` when the network last refused its token
    # The urgent search (bot.networks.x.urgent): how many of its queries have searched the
    # gap for P1s, where the current one continues (below this id), the posts it found.
    searched: int = 0
    search_below: str | None = None
    urgent_reads: int = 0


def load(text: str | None) -> list[Gap]:
    """The gaps in `text` (a state we did not write, or none: no gaps)."""
    if not text:
        return []
    try:
        items = json.loads(text)
    except ValueError:
        return []
    gaps = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("older_than"), str):
            gaps.append(Gap(older_than=item["older_than"],
                            newer_than=_str(item.get("newer_than")),
                            start_time=_str(item.get("start_time")),
                            token=_str(item.get("token")),
                            scope=_str(item.get("scope")),
                            refused_at=_str(item.get("refused_at")),
                            searched=_int(item.get("searched")),
                            search_below=_str(item.get("search_below")),
                            urgent_reads=_int(item.get("urgent_reads"))))
    return gaps


def dump(gaps: list[Gap]) -> str | None:
    return json.dumps([{k: v for k, v in asdict(g).items() if v is not None and v != 0}
                       for g in gaps]) if gaps else None


def describe(text: str | None) -> str:
    """The unread posts in words, for `check --live` and `/social status`."""
    gaps = load(text)
    if not gaps:
        return "nothing"
    first = gaps[0]
    lower = (f"newer than {_readable(first.newer_than)}" if first.newer_than else
             f"since {first.start_time}" if first.start_time else "")
    text = f"posts older than {_readable(first.older_than)}" + (f" and {lower}" if lower else "")
    if first.scope:
        text += f" under {first.scope}"
    return text + (f" (+{len(gaps) - 1} more range(s))" if len(gaps) > 1 else "")


def urgent_reads(text: str | None) -> int:
    """Posts the urgent search read in the open gaps (part of the gap's reads and cost)."""
    return sum(g.urgent_reads for g in load(text))


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


_EPOCH = re.compile(r"^\d{9,10}(\.\d+)?$")  # epoch seconds (a cursor), not a 19-digit post id


def _at_or_below(bound: str, low: str) -> bool:
    """`bound` ≤ `low`: as numbers when both are (epoch seconds, ids), else as ISO text."""
    try:
        return float(bound) <= float(low)
    except ValueError:
        return bound <= low


def _readable(bound: str) -> str:
    """An epoch-seconds bound as an ISO time for people; ids and times as they are."""
    if _EPOCH.match(bound):
        return datetime.fromtimestamp(float(bound), UTC).isoformat().replace("+00:00", "Z")
    return bound


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page a network answered, newest first."""

    items: list[T]
    next: str | None  # the network's token to the next (older) page; None: there is none
    reached: bool = False  # the page went down to the floor: nothing older is wanted
    oldest: str | None = None  # the oldest position in it (a time or id), a gap's upper bound


# (page token or None for the newest page, the floor the items must be newer than, the
# gap's scope) → one page
PageFn = Callable[[str | None, str | None, str | None], Page[T]]


@dataclass
class Backfill(Generic[T]):
    """One poll's reading of a token-paged source: new items down to the cursor, then the
    gaps, within the poll's page budget. `items` pairs each item with the floor it must be
    newer than (the cursor for new ones, a gap's `newer_than` for backfilled ones): the
    source drops what is not newer, so a page read twice is stored once."""

    page: PageFn[T]
    gaps: list[Gap]
    items: list[tuple[T, str | None]] = field(default_factory=list)
    pages: int = 0  # pages read this poll
    backfill_items: int = 0  # of `items`, read closing gaps
    backfill_pages: int = 0
    opened: list[Gap] = field(default_factory=list)  # gaps this poll's cap left
    restarted: int = 0  # gaps whose token the network refused, read again from the newest
    unreachable: int = 0  # gaps closed: refused again at the same depth (the listing ends)

    @classmethod
    def of(cls, page: PageFn[T], backfill: str | None) -> Backfill[T]:
        return cls(page=page, gaps=load(backfill))

    def read_new(self, floor: str | None, pages: int, *, scope: str | None = None,
                 cursor: str | None = None) -> bool:
        """Newest first down to `floor` (None: the first poll, no gap is kept), at most
        `pages`; a cap reached above the floor opens a gap, read first by `read_gaps`.
        `cursor`: where the last poll stopped when `floor` reads back before it (an overlap
        for late-listed posts): the reading reaches back into the overlap as far as the page
        that holds the cursor (a storm's overlap is not read again at every poll), the gap
        ends at the cursor — what lies below it was read — and none is opened when the cap
        stopped below it. True when the cap stopped it."""
        items, token, oldest, used = self._down(None, floor, scope, pages, stop_at=cursor)
        self.items.extend((i, floor) for i in items)
        self.pages += used
        if token is None:
            return False
        low = cursor if cursor is not None else floor
        if low is not None and not (oldest is not None and _at_or_below(oldest, low)):
            gap = Gap(older_than=oldest or "", newer_than=low, token=token, scope=scope)
            self.gaps.insert(0, gap)  # newest first
            self.opened.append(gap)
        return True

    def read_gaps(self, pages: int) -> None:
        """Continue the gaps of earlier polls, newest first, with at most `pages` pages: a gap
        read down to its floor is closed, one the pages ran out in is kept where the reading
        stopped. A gap this poll's cap opened waits for the next poll (a cap is a cap). At
        least one page goes to the gaps: new posts coming faster than the cap, or an overlap
        read again at each poll, never starve them."""
        pages = max(pages, 1)
        opened = {id(g) for g in self.opened}
        i = 0
        while i < len(self.gaps) and pages > 0:
            gap = self.gaps[i]
            if id(gap) in opened:
                i += 1
                continue
            try:
                items, token, oldest, used = self._down(gap.token, gap.newer_than, gap.scope,
                                                        pages)
            except TokenRefused as exc:
                if gap.token is None:
                    raise  # not a token's fault: the source's own error handling applies
                pages -= 1  # the refused request was a read
                self.pages += 1
                if gap.refused_at is not None and _at_or_below(gap.refused_at, gap.older_than):
                    # no deeper than the last refusal: the listing ends there
                    log.warning("the network lists nothing older (%s): %s are out of its "
                                "reach; the gap is closed", exc, describe(dump([gap])))
                    self.gaps.pop(i)
                    self.unreachable += 1
                    continue
                log.warning("a gap's page token was refused (%s): reading %s again from the "
                            "newest page", exc, describe(dump([gap])))
                self.gaps[i] = replace(gap, token=None, refused_at=gap.older_than)
                self.restarted += 1
                continue
            pages -= used
            self.pages += used
            self.backfill_pages += used
            self.backfill_items += len(items)
            self.items.extend((item, gap.newer_than) for item in items)
            if token is None:
                self.gaps.pop(i)
            else:
                self.gaps[i] = replace(gap, older_than=oldest or gap.older_than, token=token)
                i += 1

    def refusal_notes(self, network: str) -> list[str]:
        """What the poll says of refused page tokens (`check --live`, the poll's log)."""
        notes = []
        if self.restarted:
            notes.append(f"{network} refused an old page token: the gap is read again from "
                         "the newest page")
        if self.unreachable:
            notes.append(f"{network} lists nothing older: {self.unreachable} gap(s) closed "
                         "with older posts out of its reach")
        return notes

    def state(self) -> str | None:
        """The gaps left, for `SourceState.backfill`."""
        return dump(self.gaps)

    def _down(self, token: str | None, floor: str | None, scope: str | None, pages: int, *,
              stop_at: str | None = None) -> tuple[list[T], str | None, str | None, int]:
        """Pages from `token` until one reaches `floor` (or `stop_at`), the network has no
        more, or `pages` are read: the items, the token to resume from (None: done), the
        oldest position read, the pages used."""
        items: list[T] = []
        oldest: str | None = None
        for used in range(1, pages + 1):
            try:
                page = self.page(token, floor, scope)
            except TokenRefused:
                if used == 1:
                    raise
                # a token of this very poll refused: keep what was read, resume from it
                # (refused again on the next poll, the gap is read again from the newest)
                return items, token, oldest, used
            items.extend(page.items)
            oldest = page.oldest or oldest
            if page.reached or not page.next or not page.items or (
                    stop_at is not None and page.oldest is not None
                    and _at_or_below(page.oldest, stop_at)):
                return items, None, oldest, used
            token = page.next
        return items, token, oldest, pages
