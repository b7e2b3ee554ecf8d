"""`socialbot tune`: read the history, propose (bot.offline.tune.proposals), print the report or JSON, and with
`--write PATH` write a patched copy of the rules file (bot.offline.tune.patch). Never writes the
database and never the live rules file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bot.domain.rules.schema import Rules
from bot.offline.tune import proposals as tune
from bot.offline.tune.patch import PatchError, patch

FIELD_LABEL = {"sentiment": "sentiment", "priority": "priority", "author_type": "author type",
               "team": "team", "complaint": "complaint"}
TEXT_WIDTH = 70


def _short(text: str) -> str:
    one = " ".join(text.split())
    return one if len(one) <= TEXT_WIDTH else one[:TEXT_WIDTH - 1] + "…"


def _effect_lines(p: tune.Proposal) -> list[str]:
    fe = p.effect.of(p.field)
    label = FIELD_LABEL[p.field]
    lines = [f"   replay: {label} corrections right {fe.right_before} → {fe.right_after} of "
             f"{fe.corrected} (fixed {len(fe.fixed)}, broken {len(fe.broken)})"]
    others = ", ".join(f"{FIELD_LABEL[f]} {p.effect.of(f).changed_others}"
                       for f in ("sentiment", "priority", "team", "author_type", "complaint"))
    lines.append(f"           other mentions changed: {others}")
    side = [f"{FIELD_LABEL[f]} {len(e.fixed)} fixed/{len(e.broken)} broken"
            for f, e in p.effect.fields.items() if f != p.field and (e.fixed or e.broken)]
    if side:
        lines.append(f"           other corrections: {', '.join(side)}")
    # The proposal's own field first, then what else it moves.
    for c in sorted(p.effect.changes, key=lambda c: c.field != p.field)[:tune.EXAMPLES]:
        mark = "" if c.corrected_to is None else (
            " ✓" if c.after == c.corrected_to else f" ✗ (staff: {c.corrected_to})")
        lines.append(f"      #{c.mention_id} {FIELD_LABEL[c.field]} {c.before} → {c.after}{mark}"
                     f"  {_short(c.text)!r}")
    return lines


def report_text(n: int, corrected: dict[str, int], right_now: dict[str, int],
                proposals: Sequence[tune.Proposal], together: tune.Effect | None,
                notes: Sequence[str], rules_name: str) -> str:
    total = sum(corrected.values())
    parts = ", ".join(f"{FIELD_LABEL[f]} {k}" for f, k in corrected.items() if k)
    lines = [f"socialbot tune: {n} stored mentions replayed with {rules_name}; "
             f"{total} corrections ({parts or 'none'})"]
    already = sum(right_now.values())
    if already:
        lines.append(f"the current rules already agree with {already} of them on replay")
    if not proposals:
        lines.append("no proposal: no change found that puts more corrected mentions right "
                     "than it puts wrong")
    for k, p in enumerate(proposals, 1):
        lines.append("")
        lines.append(f"{k}. [{p.kind}] {p.title}")
        lines.append(f"   why: {p.why}")
        lines.extend(_effect_lines(p))
    if together is not None and len(proposals) > 1:
        lines.append("")
        fixed = sum(len(e.fixed) for e in together.fields.values())
        broken = sum(len(e.broken) for e in together.fields.values())
        others = ", ".join(f"{FIELD_LABEL[f]} {together.of(f).changed_others}"
                           for f in ("sentiment", "priority", "team", "author_type", "complaint"))
        lines.append(f"all {len(proposals)} together: {fixed} corrections fixed, {broken} "
                     f"broken; other mentions changed: {others}")
    for note in notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def report_json(n: int, corrected: dict[str, int], right_now: dict[str, int],
                proposals: Sequence[tune.Proposal], together: tune.Effect | None,
                notes: Sequence[str]) -> dict[str, Any]:
    return {"mentions": n, "corrected": corrected, "right_now": right_now,
            "proposals": [{"number": k, **p.as_json()} for k, p in enumerate(proposals, 1)],
            "together": together.as_json() if together is not None else None,
            "notes": list(notes)}


def parse_only(value: str | None, count: int) -> list[int] | None:
    """`--only 1,3` → [1, 3]; None: all. ValueError names a number that is not a proposal."""
    if value is None:
        return None
    picked = []
    for part in value.split(","):
        part = part.strip()
        if not part.isdigit() or not 1 <= int(part) <= count:
            raise ValueError(f"{part!r} is not a proposal number (1..{count})")
        picked.append(int(part))
    return picked


def run(session_factory: Any, rules: Rules, rules_path: str, *, as_json: bool,
        write: str | None, only: str | None, min_support: int, since: datetime | None,
        out: TextIO, err: TextIO) -> int:
    from bot.offline.tune.history import load_cases

    if write is not None and Path(write).resolve() == Path(rules_path).resolve():
        print(f"--write: {write} is the live rules file; write a copy, review it, then "
              "replace the file", file=err)
        return 2
    with session_factory() as session:
        cases = list(load_cases(session, since=since))
    proposals, replay, notes = tune.propose(cases, rules, min_support=min_support)
    try:
        picked = parse_only(only, len(proposals))
    except ValueError as exc:
        print(f"--only: {exc}", file=err)
        return 2
    chosen = proposals if picked is None else [proposals[k - 1] for k in picked]
    together = None
    if len(chosen) > 1:
        together = replay.effect(tune.apply(rules, [p.edit for p in chosen]))
    corrected, right = tune.corrected_counts(cases), tune.right_now(replay)
    if as_json:
        print(json.dumps(report_json(len(cases), corrected, right, proposals, together, notes)),
              file=out)
    else:
        print(report_text(len(cases), corrected, right, proposals, together, notes,
                          rules_path), file=out)
    if write is None:
        return 0
    if not chosen:
        print(f"--write: no proposal to apply; {write} not written", file=err)
        return 1
    try:
        text = patch(Path(rules_path).read_text("utf-8"), [p.edit for p in chosen],
                     filename=rules_path)
    except PatchError as exc:
        print(f"--write: {exc}", file=err)
        return 1
    Path(write).write_text(text, "utf-8")
    numbers = ", ".join(str(k) for k in (picked or range(1, len(proposals) + 1)))
    print(f"wrote {write}: proposals {numbers} applied to {rules_path}; review it, "
          f"`socialbot check --rules {write}`, then replace the rules file and reload (SIGHUP)",
          file=err)
    return 0
