"""Gaps a page cap leaves, kept until later polls have read them (no post is ever skipped).

A burst bigger than a poll's page cap (a storm: 3,000 mentions at once) used to be cut: the
newest pages were read and the cursor moved past the rest. Now the source keeps what it did
not read as a `Gap` — posts newer than `newer_than` (the cursor the poll started from; the
first poll's `start_time`) and older than `older_than` (the oldest post it read) — in
`SourceState.backfill`, and the next polls read the gaps with the pages the new posts leave
over, newest gap first, until none is left. Every network pages its own way; each keeps its
bound in these fields (X and Mastodon: post ids; Bluesky: times and its page cursor).

The state is JSON, stored on the `source` row beside the cursor, in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Gap:
    older_than: str  # exclusive upper bound: the oldest post read (id or ISO time)
    newer_than: str | None = None  # exclusive lower bound: the cursor before the burst
    start_time: str | None = None  # the first poll's window start (ISO) when it had no cursor
    token: str | None = None  # the network's page cursor to resume exactly where it stopped


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
                            token=_str(item.get("token"))))
    return gaps


def dump(gaps: list[Gap]) -> str | None:
    return json.dumps([{k: v for k, v in asdict(g).items() if v is not None} for g in gaps]
                      ) if gaps else None


def describe(text: str | None) -> str:
    """The unread posts in words, for `check --live` and `/social status`."""
    gaps = load(text)
    if not gaps:
        return "nothing"
    first = gaps[0]
    lower = (f"newer than {first.newer_than}" if first.newer_than else
             f"since {first.start_time}" if first.start_time else "")
    text = f"posts older than {first.older_than}" + (f" and {lower}" if lower else "")
    return text + (f" (+{len(gaps) - 1} more range(s))" if len(gaps) > 1 else "")


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
