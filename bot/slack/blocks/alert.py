"""The crisis alert (a spike of mentions) and its crisis thread message. PURE.

The alert is re-rendered from its latest figures on every update, so `AlertView` carries the
storm as it stands: the rates over threshold, who is talking (by reach), what about (words,
rules), and links to the cards. Authors' handles and names, words and rule names are
untrusted or user-written: all escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.reports.figures import AuthorReach
from bot.slack.blocks.card import PRIORITY_EMOJI, button, handle_of, net_label
from bot.slack.blocks.links import SLACK_WEB, message_link
from bot.slack.blocks.text import (
    HEADER_MAX,
    context,
    esc,
    escape_mrkdwn,
    link,
    mention,
    mentions,
    plain,
    section,
    sections,
    slack_date,
)
from bot.slack.ids import Action, AlertRef

BASELINE_WORDS = {"same_hour": "the same hour over the last 4 weeks",
                  "trailing": "the trailing average (short history)",
                  "none": "no history yet"}


@dataclass(frozen=True, slots=True)
class MetricLine:
    label: str
    count: int
    baseline: float
    ratio: float | None
    over: bool


@dataclass(frozen=True, slots=True)
class CardLink:
    """A card of the storm, linked from the alert (read by `bot.timers.spike_counts`)."""

    mention_id: int
    priority: str
    network: str
    handle: str
    channel: str | None
    ts: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class AlertView:
    alert_id: int
    window_minutes: int
    count: int
    peak: int
    raised_at: datetime
    last_seen_at: datetime
    baseline_mode: str
    metrics: tuple[MetricLine, ...]
    authors: tuple[AuthorReach, ...] = ()
    words: tuple[tuple[str, int], ...] = ()
    rules: tuple[tuple[str, int], ...] = ()
    cards: tuple[CardLink, ...] = ()
    crisis_opened_by: str | None = None
    crisis_opened_at: datetime | None = None
    approvers: tuple[str, ...] = field(default_factory=tuple)
    workspace_url: str = SLACK_WEB  # the base of links to cards (bot.slack.blocks.links)


def ratio_text(ratio: float | None) -> str:
    return "new (no baseline)" if ratio is None else f"{ratio:.1f}×"


def _window(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} h" if hours != 1 else "hour"
    return f"{minutes} min"


def _top_ratio(view: AlertView) -> str:
    over = [m for m in view.metrics if m.over]
    first = over[0] if over else (view.metrics[0] if view.metrics else None)
    return ratio_text(first.ratio) if first else "?"


def spike_alert(view: AlertView) -> dict:
    """The alert in the alerts channel, with the "Open crisis thread" button (or who did)."""
    title = (f"Mention spike: {view.count:,} in the last {_window(view.window_minutes)} "
             f"({_top_ratio(view)} the usual)")
    lines = [f"{':red_circle:' if m.over else ':white_circle:'} *{esc(m.label, 120)}*: "
             f"{m.count:,} vs usual {m.baseline:.1f} → {ratio_text(m.ratio)}"
             for m in view.metrics[:12]]
    blocks: list[dict] = [{"type": "header", "text": plain(":rotating_light: " + title,
                                                           HEADER_MAX)},
                          *sections(lines)]
    if view.authors:
        who = [f"{escape_mrkdwn(handle_of(a.network, a.handle))}"
               f"{' (' + esc(a.name, 80) + ')' if a.name else ''} · {net_label(a.network)} · "
               f"{a.followers:,} followers · {a.mentions} mention{'s' if a.mentions != 1 else ''}"
               for a in view.authors[:5]]
        blocks.extend(sections(["*Top authors by reach*", *who]))
    about = []
    if view.words:
        about.append("*Words:* " + ", ".join(f"{esc(w, 40)} ({n})" for w, n in view.words[:8]))
    if view.rules:
        about.append("*Rules:* " + ", ".join(f"{esc(r, 80)} ({n})" for r, n in view.rules[:6]))
    blocks.extend(sections(about))
    if view.cards:
        blocks.extend(sections(["*Cards*", *(_card_line(c, view.workspace_url)
                                             for c in view.cards[:8])]))
    blocks.append(context(
        f"Raised {slack_date(view.raised_at)} · last seen {slack_date(view.last_seen_at)} · "
        f"peak {view.peak:,} · baseline: {BASELINE_WORDS.get(view.baseline_mode, 'unknown')}"))
    if view.crisis_opened_by:
        when = f" {slack_date(view.crisis_opened_at)}" if view.crisis_opened_at else ""
        blocks.append(context(f":busts_in_silhouette: Crisis thread opened by "
                              f"{mention(view.crisis_opened_by)}{when} — see the thread"))
    else:
        blocks.append({"type": "actions", "elements": [
            button("Open crisis thread", Action.OPEN_CRISIS,
                   AlertRef(view.alert_id).encode(), "danger")]})
    return {"text": title, "blocks": blocks}


def _card_line(c: CardLink, base: str) -> str:
    who = escape_mrkdwn(handle_of(c.network, c.handle))
    head = f"{PRIORITY_EMOJI.get(c.priority, ':white_circle:')} *{esc(c.priority, 8)}* {who}"
    card = message_link(c.channel, c.ts, "card", base)
    if card:
        return f"{head} · {card}"
    return f"{head} · {link(c.url, 'post') if c.url else 'card not posted yet'}"


def crisis_thread(view: AlertView) -> dict:
    """The first message of the crisis thread, under the alert: who opened it, who is called."""
    who = mentions(list(view.approvers), empty="the team")
    text = (f":busts_in_silhouette: Crisis thread opened by {mention(view.crisis_opened_by)}. "
            f"{who}: coordinate the response here — {view.count:,} mentions in the last "
            f"{_window(view.window_minutes)} ({_top_ratio(view)} the usual).")
    return {"text": "Crisis thread opened", "blocks": [section(text)]}
