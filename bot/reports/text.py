"""A report as terminal text (`socialbot report`). Pure."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.domain.rules.schema import SENTIMENTS
from bot.reports.figures import Report
from bot.slack.blocks.report import duration


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.0f}%"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items() if v) or "none"


def report_text(report: Report) -> str:
    tz = ZoneInfo(report.timezone)
    p = report.period
    lines = [
        f"socialbot report {p.label}{' · team ' + report.team if report.team else ''}: "
        f"{p.start.astimezone(tz):%Y-%m-%d %H:%M} → {p.end.astimezone(tz):%Y-%m-%d %H:%M} "
        f"({report.timezone})",
        f"mentions        {report.total:,} (previous period {report.previous_total:,})",
        f"by network      {_counts(report.by_network)}",
        f"by team         {_counts(report.by_team)}",
    ]
    mix = []
    for s in SENTIMENTS:
        change = report.share_change(s)
        mix.append(f"{s} {_pct(report.share(s))}"
                   + ("" if change is None else f" ({change:+.1f} pp)"))
    if report.sentiment_unknown and report.total:
        mix.append(f"unknown {_pct(report.sentiment_unknown / report.total)}")
    lines.append(f"sentiment       {', '.join(mix)}")
    change = report.complaint_share_change()
    lines.append(f"complaints      {report.complaints:,} ({_pct(report.complaint_share())} of "
                 f"mentions{'' if change is None else f', {change:+.1f} pp'}; previous period "
                 f"{report.previous_complaints:,})")
    lines.append("languages       " + (", ".join(
        f"{lang} {row.mentions:,}" + (f" ({row.complaints:,} complaint"
                                      f"{'' if row.complaints == 1 else 's'})"
                                      if row.complaints else "")
        for lang, row in report.languages.items()) or "none"))
    for name, d in (("first response", report.first_response), ("close", report.close)):
        lines.append(f"{name:<15} median {duration(d.median)}, p90 {duration(d.p90)} "
                     f"(n={d.count:,})")
    c = report.conversations
    if c is not None and c.conversations:
        each = c.replies_per_conversation
        lines.append(f"conversations   {c.conversations:,} ({c.follow_ups:,} follow-ups), "
                     f"{'–' if each is None else f'{each:.1f}'} replies each, "
                     f"{_pct(c.reopen_rate)} reopened, resolution median "
                     f"{duration(c.resolution.median)} (n={c.resolution.count:,})")
    for row in report.sla:
        if row.hit + row.missed + row.pending + row.no_sla:
            lines.append(f"SLA {row.priority:<11} {_pct(row.rate)} on time ({row.hit:,} of "
                         f"{row.hit + row.missed:,}; {row.pending:,} not due, "
                         f"{row.no_sla:,} without SLA)")
    lines.append(f"outcomes        {_counts(report.outcomes)}")
    a = report.approvals
    lines.append(f"approvals       {a.decided:,} decided ({a.approved:,} approved, "
                 f"{a.rejected:,} rejected), median wait {duration(a.wait.median)}")
    lines.append("busiest hours   " + (", ".join(f"{h:02d}:00 ({c:,})"
                                               for h, c in report.busiest_hours()) or "–"))
    lines.append("top authors     " + (", ".join(f"{t.handle} ({t.followers:,})"
                                               for t in report.top_authors[:5]) or "–"))
    lines.append(f"unanswered      {report.unanswered_count:,}")
    for m in report.unanswered:
        text = " ".join(m.text.split())[:80]
        lines.append(f"  {m.priority} #{m.id} {m.network} {m.team} @{m.handle}: {text}")
    return "\n".join(lines)
