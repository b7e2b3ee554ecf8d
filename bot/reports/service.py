"""`/social report|status|export|help`: parse, compute, and answer in Slack.

Reached through `Services.reports`; the slash command listener acks first, then calls
`ReportService.social` in its own thread. Reads use a session of their own and never hold a
transaction across a Slack call. Where the answer goes:

- `report`: the figures ephemerally to the asker (via the command's `response_url`), the chart
  to the asker's DM with the bot (an ephemeral message can't carry a file); with `public`, the
  figures to the channel and the chart in their thread;
- `status`: ephemeral; `export`: the CSV to the asker's DM (mention data isn't for a channel).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.errors import NotAllowed
from bot.domain.rules.schema import Rules
from bot.kit import models
from bot.listening.health import source_health
from bot.outbox import parking, queue
from bot.reports.chart import report_chart_png
from bot.reports.command import SocialRequest, parse_social
from bot.reports.figures import Report
from bot.reports.period import parse_period
from bot.reports.queries import compute_report, report_timezone
from bot.slack.blocks.report import report_blocks, social_help, status_blocks
from bot.slack.blocks.text import context
from bot.slack.ids import SocialSubcommand

log = logging.getLogger(__name__)
Respond = Callable[..., Any]  # Bolt's `respond` (response_url); keyword arguments only
EXPORT_MAX_ROWS = 250_000  # ~75 MB of CSV; a longer export asks for a shorter period
EXPORT_BATCH = 5_000
CSV_COLUMNS = ("id", "ingested_at", "created_at", "network", "team", "priority", "sentiment",
               "compound", "complaint", "complaint_probability", "lang", "score", "status",
               "author", "followers", "author_type", "risk", "matched_rules", "sla_due_at",
               "first_response_at", "closed_at", "outcome", "url", "text")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class ReportAnswer:
    report: Report
    content: dict  # text + blocks
    png: bytes
    filename: str


def csv_cell(value: object) -> str:
    """A CSV cell that a spreadsheet won't run: text starting like a formula gets a `'`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        value = ";".join(str(v) for v in value)
    text = str(value)
    if not isinstance(value, str):
        return text
    # Spreadsheets skip leading spaces and line breaks before a formula (" =1+1", "\n=…").
    formula = text.startswith(_FORMULA_START) or text.lstrip().startswith(_FORMULA_START)
    return "'" + text if formula else text


class ReportService:
    def __init__(self, factory: sessionmaker[Session], rules: Callable[[], Rules],
                 clock: Callable[[], datetime]) -> None:
        self.factory, self.rules, self.clock = factory, rules, clock

    # --- computing -------------------------------------------------------------------------

    def compute(self, period_text: str, team: str | None = None) -> Report:
        rules, now = self.rules(), self.clock()
        if team is not None and team not in rules.teams:
            raise NotAllowed(f"Unknown team `{team[:40]}`. Teams: {', '.join(sorted(rules.teams))}.")
        tz_name = report_timezone(rules)
        period = parse_period(period_text, now, ZoneInfo(tz_name))
        with self.factory() as session:
            return compute_report(session, rules, period, now=now, team=team, tz_name=tz_name,
                                  more_sessions=self.factory)

    def answer(self, period_text: str, team: str | None = None) -> ReportAnswer:
        report = self.compute(period_text, team)
        name = f"socialbot-report-{report.period.label.replace('..', '_')}"
        if team:
            name += f"-{team}"
        return ReportAnswer(report, report_blocks(report), report_chart_png(report),
                            name + ".png")

    def status(self) -> dict:
        rules, now = self.rules(), self.clock()
        with self.factory() as session:
            sources = source_health(session, rules, now)
            depth = queue.depth(session)
            oldest = queue.oldest_open(session)
            trouble = parking.trouble(session, now)
        return status_blocks(sources, depth, oldest, now, trouble)

    def export_csv(self, period_text: str, team: str | None = None) -> tuple[bytes, int, int]:
        """(CSV bytes, rows written, rows in the period)."""
        rules, now = self.rules(), self.clock()
        if team is not None and team not in rules.teams:
            raise NotAllowed(f"Unknown team `{team[:40]}`.")
        period = parse_period(period_text, now, ZoneInfo(report_timezone(rules)))
        M, A = models.Mention, models.Author
        where = [M.ingested_at >= period.start, M.ingested_at < period.end]
        if team:
            where.append(M.team == team)
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(CSV_COLUMNS)
        written = 0
        with self.factory() as session:
            total = session.scalar(select(func.count()).select_from(M).where(*where)) or 0
            rows = session.execute(
                select(M.id, M.ingested_at, M.created_at, M.network, M.team, M.priority,
                       M.sentiment, M.compound, M.complaint, M.complaint_probability, M.lang,
                       M.score, M.status, A.handle, A.followers,
                       M.author_type, M.risk, M.matched_rules, M.sla_due_at,
                       M.first_response_at, M.closed_at, M.outcome, M.url, M.text)
                .join(A, A.id == M.author_id).where(*where).order_by(M.ingested_at, M.id)
                .limit(EXPORT_MAX_ROWS).execution_options(yield_per=EXPORT_BATCH))
            for row in rows:  # an export is rows by definition: streamed in batches
                writer.writerow([csv_cell(v) for v in row])
                written += 1
        return buf.getvalue().encode("utf-8"), written, int(total)

    # --- answering in Slack ----------------------------------------------------------------

    def social(self, text: str, *, user: str, channel: str, client: WebClient,
               respond: Respond) -> None:
        """The whole `/social …` command after its ack. Raises DomainError for the user."""
        req = parse_social(text or "", self.rules().teams)
        if req.sub is SocialSubcommand.REPORT:
            self._report(req, user=user, channel=channel, client=client, respond=respond)
        elif req.sub is SocialSubcommand.STATUS:
            respond(response_type="ephemeral", **self.status())
        elif req.sub is SocialSubcommand.EXPORT:
            self._export(req, user=user, client=client, respond=respond)
        else:
            respond(response_type="ephemeral", **social_help())

    def _report(self, req: SocialRequest, *, user: str, channel: str, client: WebClient,
                respond: Respond) -> None:
        ans = self.answer(req.period or "7d", req.team)
        title = f"Mentions and response time · {ans.report.period.label}"
        if req.public:
            try:
                posted = client.chat_postMessage(channel=channel, **ans.content)
            except SlackApiError as exc:
                if exc.response.get("error") in ("not_in_channel", "channel_not_found"):
                    raise NotAllowed("I'm not in this channel: invite me (`/invite @socialbot`)"
                                     " or ask without `public`.") from None
                raise
            self._upload(client, channel=posted.get("channel") or channel, png=ans.png,
                         filename=ans.filename, title=title, thread_ts=posted.get("ts"))
            return
        note = self._upload(client, channel=self._dm(client, user), png=ans.png,
                            filename=ans.filename, title=title)
        content = dict(ans.content)
        content["blocks"] = [*content["blocks"][:49], context(
            "The chart is in your DM with me." if note is None else note)]
        respond(response_type="ephemeral", **content)

    def _export(self, req: SocialRequest, *, user: str, client: WebClient,
                respond: Respond) -> None:
        data, written, total = self.export_csv(req.period or "30d", req.team)
        label = (req.period or "30d").replace("..", "_")
        name = f"socialbot-mentions-{label}{'-' + req.team if req.team else ''}.csv"
        cut = (f" (the first {written:,} of {total:,}: ask for a shorter period for the rest)"
               if written < total else "")
        client.files_upload_v2(channel=self._dm(client, user), file=data, filename=name,
                               title=f"Mentions {req.period}" + (f" · {req.team}" if req.team
                                                                 else ""),
                               initial_comment=f"{written:,} mentions{cut}.")
        respond(response_type="ephemeral",
                text=f"Export of {written:,} mentions{cut} sent to your DM with me.")

    @staticmethod
    def _dm(client: WebClient, user: str) -> str:
        return client.conversations_open(users=user)["channel"]["id"]

    @staticmethod
    def _upload(client: WebClient, *, channel: str, png: bytes, filename: str, title: str,
                thread_ts: str | None = None) -> str | None:
        """Upload the chart; None when it worked, else a note for the figures' message (the
        figures still go out without the chart, e.g. when `files:write` is missing)."""
        try:
            client.files_upload_v2(channel=channel, file=png, filename=filename, title=title,
                                   thread_ts=thread_ts)
        except SlackApiError as exc:
            error = exc.response.get("error")
            log.warning("report chart not uploaded to %s: %s", channel, error)
            return f"The chart could not be uploaded ({error}); is the `files:write` scope set?"
        return None
