"""The App Home tab: my queue, the teams' open work, and the sources' health. PURE.

`home(view)` returns the `views.publish` view. Lists are cut to `ITEMS_MAX` each (with the
total shown), so the tab stays far inside Slack's 100-block limit however long the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.health import HealthState, SourceHealth
from bot.domain.rules.schema import PRIORITIES
from bot.slack.blocks.card import PRIORITY_EMOJI, STATUS_LABEL, handle_of, net_label
from bot.slack.blocks.links import SLACK_WEB, message_link
from bot.slack.blocks.text import (
    HEADER_MAX,
    MODAL_BLOCKS_MAX,
    context,
    esc,
    escape_mrkdwn,
    inline,
    link,
    plain,
    section,
    sections,
    slack_date,
)

ITEMS_MAX = 10
SNIPPET_WORDS = 12


@dataclass(frozen=True, slots=True)
class QueueItem:
    mention_id: int
    priority: str
    status: str
    network: str
    author_handle: str  # untrusted
    text: str  # untrusted
    team_label: str
    sla_due_at: datetime | None
    overdue: bool
    channel: str | None
    ts: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class TeamCounts:
    team: str
    label: str
    open_by_priority: dict[str, int]
    overdue: int
    mine: bool  # the user approves for this team
    complaints: int = 0  # of the open ones, flagged a complaint


@dataclass(frozen=True, slots=True)
class Section:
    items: tuple[QueueItem, ...]
    total: int


@dataclass(frozen=True, slots=True)
class HomeView:
    user: str
    claimed: Section
    awaiting_approval: Section
    overdue: Section
    teams: tuple[TeamCounts, ...]
    sources: tuple[SourceHealth, ...]
    updated_at: datetime
    approver_of: tuple[str, ...] = field(default_factory=tuple)  # team labels
    workspace_url: str = SLACK_WEB  # the base of links to cards (bot.slack.blocks.links)


STATE_EMOJI = {HealthState.HEALTHY: ":large_green_circle:",
               HealthState.FAILING: ":large_orange_circle:", HealthState.PARKED: ":red_circle:",
               HealthState.WAITING: ":white_circle:", HealthState.NEVER_POLLED: ":white_circle:",
               HealthState.DISABLED: ":black_circle:"}


def _item(i: QueueItem, base: str) -> str:
    words = inline(i.text).split()
    snippet = " ".join(words[:SNIPPET_WORDS]) + (" …" if len(words) > SNIPPET_WORDS else "")
    who = escape_mrkdwn(handle_of(i.network, i.author_handle))
    where = message_link(i.channel, i.ts, "card", base) or (link(i.url, "post") if i.url else "")
    due = ""
    if i.sla_due_at is not None:
        due = (f" · :rotating_light: *overdue* since {slack_date(i.sla_due_at)}" if i.overdue
               else f" · due {slack_date(i.sla_due_at)}")
    return (f"{PRIORITY_EMOJI.get(i.priority, ':white_circle:')} *{esc(i.priority, 8)}* · "
            f"{STATUS_LABEL.get(i.status, esc(i.status, 32))} · {who} on {net_label(i.network)} "
            f"({esc(i.team_label, 80)}){due}" + (f" · {where}" if where else "")
            + (f"\n“{esc(snippet, 400)}”" if snippet.strip() else "\n_(no text)_"))


def _queue(title: str, sec: Section, empty: str, base: str) -> list[dict]:
    blocks = [section(f"*{title}* ({sec.total:,})")]
    if not sec.items:
        return [*blocks, context(empty)]
    blocks.extend(sections([_item(i, base) for i in sec.items[:ITEMS_MAX]]))
    if sec.total > min(len(sec.items), ITEMS_MAX):
        blocks.append(context(f"…and {sec.total - min(len(sec.items), ITEMS_MAX):,} more"))
    return blocks


def _team_line(t: TeamCounts) -> str:
    counts = " · ".join(f"{p} {t.open_by_priority.get(p, 0):,}" for p in PRIORITIES)
    total = sum(t.open_by_priority.values())
    over = f" · :rotating_light: {t.overdue:,} overdue" if t.overdue else ""
    complaints = (f" · :mega: {t.complaints:,} complaint{'' if t.complaints == 1 else 's'}"
                  if t.complaints else "")
    star = " :bust_in_silhouette:" if t.mine else ""
    return f"*{esc(t.label, 80)}*{star}: {total:,} open — {counts}{complaints}{over}"


def _source_line(s: SourceHealth) -> str:
    head = f"{STATE_EMOJI.get(s.state, ':white_circle:')} *{esc(s.id, 64)}* ({esc(s.type, 32)})"
    bits = []
    if s.state is HealthState.PARKED and s.unhealthy_reason:
        bits.append(f"parked: {esc(s.unhealthy_reason, 300)}")
    if s.last_success_at:
        bits.append(f"last success {slack_date(s.last_success_at)}")
    if s.last_error_at and s.state is not HealthState.HEALTHY:
        error = f": {esc(s.last_error, 300)}" if s.last_error else ""
        bits.append(f"last error {slack_date(s.last_error_at)}{error}")
    if s.state is HealthState.DISABLED:
        bits.insert(0, "disabled in the rules")
    elif s.state is HealthState.NEVER_POLLED:
        bits.append("not polled yet")
    elif s.state is HealthState.WAITING and s.next_run_at:
        bits.append(f"next poll {slack_date(s.next_run_at)}")
    return head + (" — " + " · ".join(bits) if bits else "")


def home(view: HomeView) -> dict:
    """The Home tab of `view.user`."""
    blocks: list[dict] = [{"type": "header", "text": plain("Your social desk", HEADER_MAX)}]
    if view.approver_of:
        blocks.append(context("You approve for: " + ", ".join(esc(t, 80)
                                                                for t in view.approver_of)))
    base = view.workspace_url
    blocks += _queue("Claimed by you", view.claimed, "Nothing claimed by you right now.", base)
    blocks.append({"type": "divider"})
    blocks += _queue("Awaiting your approval", view.awaiting_approval,
                     "No drafts are waiting for your approval.", base)
    blocks.append({"type": "divider"})
    blocks += _queue("Overdue", view.overdue, "Nothing of yours is overdue.", base)
    blocks.append({"type": "divider"})
    blocks.append(section("*Open mentions per team*"))
    blocks += sections([_team_line(t) for t in view.teams] or ["No teams in the rules."])
    blocks.append({"type": "divider"})
    blocks.append(section("*Sources*"))
    blocks += sections([_source_line(s) for s in view.sources] or ["No sources configured."])
    blocks.append(context(f"Updated {slack_date(view.updated_at)} · follows your work as it "
                          "changes; reopen the tab for the latest team counts"))
    return {"type": "home", "blocks": blocks[:MODAL_BLOCKS_MAX]}
