"""PURE Block Kit builders for reports: `/social report`, the weekly executive report,
`/social status`. Plain values in (`bot.reports.Report`), `{"text", "blocks"}` out.

Author handles, names and post snippets are untrusted: escaped and made inline. Every message
stays within Block Kit's limits however big the figures get
(tests/unit/reports/test_report_blocks.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from bot.domain.health import SourceHealth
from bot.domain.outbox import OutboxTrouble
from bot.domain.rules.schema import SENTIMENTS
from bot.reports.figures import Durations, MentionLine, Report
from bot.slack.blocks.card import PRIORITY_EMOJI, SENTIMENT_EMOJI, handle_of, net_label
from bot.slack.blocks.home import STATE_EMOJI
from bot.slack.blocks.text import (
    FIELD_MAX,
    HEADER_MAX,
    MESSAGE_BLOCKS_MAX,
    clip,
    context,
    esc,
    inline,
    label,
    link,
    md,
    section,
    sections,
    truncate_escaped,
)

LIST_MAX = 10  # mentions listed in one section (unanswered, critical events)
SNIPPET = 120  # characters of a post in a list line
LANGUAGES_SHOWN = 8


def duration(seconds: float | None) -> str:
    """`45s`, `12m`, `3h 05m`, `2d 4h`; `–` for no value."""
    if seconds is None:
        return "–"
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    m = s // 60
    if m < 60:
        return f"{m}m"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h}h {m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d {h}h"


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f}%"


def _change(pp: float | None) -> str:
    if pp is None:
        return ""
    return f" ({'+' if pp >= 0 else '−'}{abs(pp):.1f} pp)"


def _durations(name: str, d: Durations) -> str:
    return f"*{name}:* median {duration(d.median)} · p90 {duration(d.p90)} · n={d.count:,}"


def _conversation_lines(report: Report) -> list[str]:
    """Conversations: shown once a customer has written again in the period."""
    c = report.conversations
    if c is None or not c.conversations:
        return []
    each = c.replies_per_conversation
    return [f"*Conversations:* {c.conversations:,} · "
            f"{'–' if each is None else f'{each:.1f}'} replies each · "
            f"{_pct(c.reopen_rate)} reopened",
            _durations("Resolution (conversations)", c.resolution)]


def _counts(counts: dict[str, int], render=label) -> str:
    parts = [f"{render(k)} {v:,}" for k, v in counts.items() if v]
    return ", ".join(parts) or "none"


def _languages(report: Report) -> str:
    """`en 1,204 (88 complaints) · es 96 (12 complaints) …`, most mentions first."""
    parts = [f"{esc(lang, 16)} {row.mentions:,}"
             + (f" ({row.complaints:,} complaint{'s' if row.complaints != 1 else ''})"
                if row.complaints else "")
             for lang, row in list(report.languages.items())[:LANGUAGES_SHOWN]]
    more = len(report.languages) - LANGUAGES_SHOWN
    return " · ".join(parts) + (f" · {more:,} more" if more > 0 else "") if parts else "none"


def _line(m: MentionLine, *, ended: bool = False) -> str:
    who = esc(handle_of(m.network, m.handle), 60)
    words = truncate_escaped(inline(m.text), SNIPPET)
    opener = link(m.url, "open") if m.url else f"#{m.id}"
    risk = f" · _{esc(', '.join(m.risk), 60)}_" if m.risk else ""
    end = ""
    if ended:
        end = f" → *{esc(label(m.outcome), 40)}*" if m.outcome else f" → _{esc(label(m.status), 30)}_"
    return (f"{PRIORITY_EMOJI.get(m.priority, ':white_circle:')} *{esc(m.priority, 4)}* · "
            f"{net_label(m.network)} · {who} · {esc(m.team, 40)}{risk} — {words} · {opener}{end}")


def _period_line(report: Report) -> str:
    tz: tzinfo = ZoneInfo(report.timezone)
    start = report.period.start.astimezone(tz)
    end = report.period.end.astimezone(tz)
    team = f" · team *{esc(report.team, 64)}*" if report.team else " · all teams"
    return (f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} ({esc(report.timezone, 40)})"
            f"{team} · as of {report.generated_at.astimezone(tz):%Y-%m-%d %H:%M}")


def report_blocks(report: Report, *, title: str | None = None) -> dict:
    """`text` + `blocks` of a report. `title` defaults to the period's label."""
    title = title or f"Social report · {report.period.label}"
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title, HEADER_MAX),
                                    "emoji": True}},
        context(_period_line(report)),
    ]
    sentiment = " · ".join(
        f"{SENTIMENT_EMOJI.get(s, '')} {_pct(report.share(s))}{_change(report.share_change(s))}"
        for s in SENTIMENTS)
    if report.sentiment_unknown and report.total:
        sentiment += f" · :grey_question: {_pct(report.sentiment_unknown / report.total)} unknown"
    prev = (f"{report.previous_total:,} in the previous period" if report.previous_total
            else "none in the previous period")
    fields = [
        f"*Mentions*\n{report.total:,} ({prev})",
        f"*Sentiment*\n{sentiment}",
        f"*By network*\n{_counts(report.by_network, net_label)}",
        f"*By team*\n{_counts(report.by_team, lambda t: esc(t, 64))}",
        f"*Complaints*\n{report.complaints:,} · {_pct(report.complaint_share())} of mentions"
        f"{_change(report.complaint_share_change())}",
        f"*Languages*\n{_languages(report)}",
    ]
    blocks.append({"type": "section", "fields": [md(clip(f, FIELD_MAX)) for f in fields]})
    blocks.append(section("\n".join([_durations("First response", report.first_response),
                                     _durations("Close", report.close),
                                     *_conversation_lines(report)])))
    sla_lines = []
    for row in report.sla:
        if row.hit + row.missed + row.pending + row.no_sla == 0:
            continue
        extra = "".join([f" · {row.pending:,} not due yet" if row.pending else "",
                         f" · {row.no_sla:,} without SLA" if row.no_sla else ""])
        sla_lines.append(f"{PRIORITY_EMOJI.get(row.priority, '')} *{row.priority}* "
                         f"{_pct(row.rate)} on time ({row.hit:,} of {row.hit + row.missed:,})"
                         f"{extra}")
    blocks.append(section("*SLA*\n" + ("\n".join(sla_lines) or "no mentions")))
    a = report.approvals
    fields = [
        f"*Outcomes*\n{_counts(report.outcomes, lambda o: esc(label(o), 40))}",
        f"*Approvals*\n{a.decided:,} decided: {a.approved:,} approved, {a.rejected:,} "
        f"rejected · median wait {duration(a.wait.median)}",
        "*Busiest hours*\n" + (", ".join(f"{h:02d}:00 ({c:,})" for h, c in
                                         report.busiest_hours()) or "–"),
        "*Top authors by reach*\n" + ("\n".join(
            f"{esc(handle_of(t.network, t.handle), 60)} · {t.followers:,} followers"
            + (f" · {t.mentions:,} mentions" if t.mentions > 1 else "")
            for t in report.top_authors[:5]) or "–"),
    ]
    blocks.append({"type": "section", "fields": [md(clip(f, FIELD_MAX)) for f in fields]})
    if report.critical or report.critical_count:
        blocks.append({"type": "divider"})
        blocks.append(section(f"*Critical events* — {report.critical_count:,} "
                              "(P1, legal or regulatory risk), and how each ended"))
        blocks.extend(sections([_line(m, ended=True) for m in report.critical[:LIST_MAX]]))
        if report.critical_count > min(len(report.critical), LIST_MAX):
            blocks.append(context(f"…and {report.critical_count - min(len(report.critical), LIST_MAX):,} more"))
    blocks.append({"type": "divider"})
    if report.unanswered_count:
        blocks.append(section(f"*Unanswered* — {report.unanswered_count:,} open with no "
                              "response yet, most urgent first"))
        blocks.extend(sections([_line(m) for m in report.unanswered[:LIST_MAX]]))
        if report.unanswered_count > min(len(report.unanswered), LIST_MAX):
            blocks.append(context(f"…and {report.unanswered_count - min(len(report.unanswered), LIST_MAX):,} more"))
    else:
        blocks.append(section("*Unanswered* — none :tada:"))
    for note in report.notes[:3]:
        blocks.append(context(esc(note, 300)))
    text = (f"{truncate_escaped(inline(title), HEADER_MAX)}: {report.total:,} mentions, first response median "
            f"{duration(report.first_response.median)}, {report.unanswered_count:,} unanswered")
    return {"text": text, "blocks": blocks[:MESSAGE_BLOCKS_MAX]}


def weekly_report_blocks(report: Report, brand: str) -> dict:
    content = report_blocks(report, title=f"{inline(brand)} · weekly listening report · "
                                          f"{report.period.label}")
    # The chart is a file shared in this message's thread (bot.reports.weekly): say where.
    note = context("The chart (mentions per day by sentiment, median first response) is in "
                   "this message's thread.")
    return {**content, "blocks": [*content["blocks"][:MESSAGE_BLOCKS_MAX - 1], note]}


PARKED_SHOWN = 5  # a section holds 3,000 characters; more scopes are counted, not listed


def outbox_trouble_lines(trouble: OutboxTrouble, now: datetime) -> list[str]:
    """Parked rows (where, how many, since when, the fix) and rows failed for good lately."""
    lines = []
    for p in trouble.parked[:PARKED_SHOWN]:
        where = "every Slack post" if p.scope == "all" else (
            f"`{esc(p.scope, 40)}` posts" if p.scope.startswith("kind:") else f"<#{p.scope}>"
            if p.scope[:1] in ("C", "G") and p.scope.isalnum() else esc(p.scope, 40))
        probe = "" if p.next_probe is None else (
            "; tried again on its own "
            + (f"in {duration((p.next_probe - now).total_seconds())}" if p.next_probe > now
               else "now"))
        lines.append(f":double_vertical_bar: *{p.rows:,} message(s) parked* for {where}, "
                     f"oldest {duration((now - p.since).total_seconds())} old: "
                     f"`{esc(p.code, 60)}` — {esc(p.fix, 300)}{probe}")
    if len(trouble.parked) > PARKED_SHOWN:
        lines.append(f"…and {len(trouble.parked) - PARKED_SHOWN} more parked scope(s)")
    if trouble.failed and trouble.failed_since is not None:
        lines.append(f":x: *{trouble.failed:,} message(s) failed* in the last 24 h, oldest "
                     f"{duration((now - trouble.failed_since).total_seconds())} old: "
                     f"{esc(trouble.failed_error or 'failed', 200)}")
    return lines


def status_blocks(sources: Sequence[SourceHealth], outbox_depth: int,
                  oldest_queued: datetime | None, now: datetime,
                  trouble: OutboxTrouble | None = None) -> dict:
    """`/social status`: each source's health, the outbox queue (parked and failed rows
    too), X reads and cost."""
    lines = []
    for s in sources:
        icon = STATE_EMOJI.get(s.state, ":white_circle:")
        parts = [f"{icon} *{esc(s.id, 64)}* ({esc(s.type, 32)}): {esc(s.label, 300)}"]
        if s.last_success_at:
            parts.append(f"last success {s.last_success_at:%Y-%m-%d %H:%M}Z")
        if s.next_run_at:
            parts.append(f"next run {s.next_run_at:%Y-%m-%d %H:%M}Z")
        if s.gap_since:
            parts.append(f":warning: {esc(s.gap_line(), 300)}")
        if s.quarantined:
            parts.append(esc(s.quarantine_line(), 300))
        if s.last_error:
            parts.append(f"last error: {esc(s.last_error, 300)}")
        lines.append(" · ".join(parts))
    x = [s for s in sources if s.cost_this_month is not None]
    reads = sum(s.reads_this_month for s in x)
    cost = sum(s.cost_this_month or 0.0 for s in x)
    budget = sum(s.monthly_budget or 0.0 for s in x)
    queued = f"{outbox_depth:,} message(s) queued for Slack"
    if oldest_queued is not None and outbox_depth:
        queued += f", oldest {duration((now - oldest_queued).total_seconds())} old"
    x_line = (f"*X this month:* {reads:,} posts read, ${cost:,.2f}"
              + (f" of ${budget:,.2f} budget" if budget else "")) if x else "*X:* no X sources"
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "socialbot status"}},
        *sections(lines or ["No sources in the rules file."]),
        section("\n".join([f"*Outbox:* {queued}",
                            *outbox_trouble_lines(trouble or OutboxTrouble(), now), x_line])),
        context(f"as of {now:%Y-%m-%d %H:%M}Z"),
    ]
    return {"text": f"socialbot status: {len(sources)} source(s), {queued}",
            "blocks": blocks[:MESSAGE_BLOCKS_MAX]}


REPORT_HELP = (
    ("/social report [today|7d|30d|YYYY-MM-DD..YYYY-MM-DD] [team] [public]",
     "the desk's figures and a chart (only you see them, unless `public`)"),
    ("/social status", "sources' health, the Slack queue, X reads and cost this month"),
    ("/social export [period] [team]", "the period's mentions as a CSV file"),
    ("/social help", "this message"),
)


def social_help() -> dict:
    lines = [f"`{cmd}` — {what}" for cmd, what in REPORT_HELP]
    return {"text": "socialbot help", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "socialbot"}},
        section("\n".join(lines)),
        context("Periods: `today`, `7d`, `30d` (any `Nd` up to 366), or a date range "
                "`2026-11-01..2026-11-30`. Teams are the rules file's team ids."),
    ]}
