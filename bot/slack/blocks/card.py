"""The mention card: `card(view)` → the `text` + `blocks` of chat.postMessage / chat.update.

Everything shown comes from the `CardView` (bot.domain.card); every button carries a `CardRef`
(bot.slack.ids) with the card's version, so a click on a stale card is refused, not applied.
"""

from __future__ import annotations

from bot.domain.card import CardView
from bot.domain.rules.schema import UNKNOWN_SENTIMENT
from bot.slack.blocks.card_conversation import conversation_lines
from bot.slack.blocks.text import (
    ACTIONS_ELEMENTS_MAX,
    BUTTON_TEXT_MAX,
    OPTION_TEXT_MAX,
    OPTION_VALUE_MAX,
    OPTIONS_MAX,
    POST_TEXT_MAX,
    context,
    esc,
    escape_mrkdwn,
    inline,
    label,
    link,
    mention,
    mentions,
    plain,
    section,
    sections,
    slack_date,
    truncate_escaped,
)
from bot.slack.ids import Action, CardRef, Overflow

PRIORITY_EMOJI = {"P1": ":red_circle:", "P2": ":large_orange_circle:",
                  "P3": ":large_yellow_circle:", "P4": ":white_circle:"}
NETWORK_LABEL = {"x": "X", "mastodon": "Mastodon", "bluesky": "Bluesky", "rss": "the web",
                 "reddit": "Reddit",
                 "youtube": "YouTube",
                 "google_play": "Google Play",
                 "facebook": "Facebook",
                 "app_store": "App Store",
                 "instagram": "Instagram",
                 "threads": "Threads",
                 }
# Networks where a post has one reply of ours, and sending again replaces it.
ONE_REPLY_NETWORKS = ("google_play",
                      "app_store",
                      )
STATUS_LABEL = {"new": "New", "claimed": "Claimed", "drafted": "Draft ready",
                "pending_approval": "Awaiting approval", "approved": "Approved",
                "sent": "Sent", "closed": "Closed"}
SENTIMENT_EMOJI = {"negative": ":slightly_frowning_face:", "neutral": ":neutral_face:",
                   "positive": ":slightly_smiling_face:"}
OVERFLOW_LABEL = {Overflow.REASSIGN: "Reassign team", Overflow.PRIORITY: "Change priority",
                  Overflow.SENTIMENT: "Correct sentiment", Overflow.AUTHOR_TYPE: "Mark author as…",
                  Overflow.DISMISS: "Dismiss"}
HANDLE_NETWORKS = ("x", "mastodon", "bluesky", "youtube", "threads")  # where `@handle` means something
HANDLE_PREFIX = {"reddit": "u/"}  # networks that write a user another way
TOP_PARTS = 4  # score parts named in the "why" line
DRAFT_TEXT_MAX = 2700  # a draft in a section, after a prefix of our own


# --- Small shared pieces (also used by modals and messages) ---------------------------------
def net_label(network: str) -> str:
    """`X`, `Mastodon`, … for mrkdwn (an unknown network is shown escaped)."""
    return NETWORK_LABEL.get(network) or esc(network, 32)


def network_label(view: CardView) -> str:
    return net_label(view.network)


def handle_of(network: str, author_handle: str) -> str:
    """The author's handle, `@`-prefixed where the network uses handles. NOT escaped."""
    h = inline(author_handle).lstrip("@")[:255] or "unknown"
    if network in HANDLE_PREFIX:
        return HANDLE_PREFIX[network] + h.removeprefix("u/")
    return f"@{h}" if network in HANDLE_NETWORKS else h


def raw_handle(view: CardView) -> str:
    return handle_of(view.network, view.author_handle)


def handle(view: CardView) -> str:
    """The author's handle for mrkdwn: escaped."""
    return escape_mrkdwn(raw_handle(view))


def author_line(view: CardView) -> str:
    name = esc(view.author_name or "", 600)
    return f"*{name}* {handle(view)}" if name else f"*{handle(view)}*"


def ref(view: CardView, option: str | None = None) -> str:
    """The value of every element on a card: mention, version, latest draft, chosen option."""
    draft_id = view.draft.id if view.draft else None
    return CardRef(view.mention_id, view.version, draft_id, option).encode()


def button(text: str, action: Action, value: str, style: str | None = None,
           confirm: dict | None = None) -> dict:
    b = {"type": "button", "action_id": str(action), "text": plain(text, BUTTON_TEXT_MAX),
         "value": value}
    if style:
        b["style"] = style
    if confirm:
        b["confirm"] = confirm
    return b


def draft_overtaken(view: CardView) -> bool:
    """The customer wrote again after the draft was written: sending or approving it asks
    once more, in words that say so (the card's warning alone is easy to scroll past)."""
    return view.conversation is not None and view.conversation.draft_stale


def send_confirm(view: CardView) -> dict:
    where = NETWORK_LABEL.get(view.network, "the network")
    if draft_overtaken(view):
        return {"title": plain("Send an outdated reply?", 100),
                "text": plain("The customer wrote again after this draft was written, and it "
                              f"doesn't answer that. It is posted publicly on {where} and can't "
                              "be unsent.", 300),
                "confirm": plain("Send anyway", 30), "deny": plain("Not yet", 30),
                "style": "danger"}
    return {"title": plain("Send this reply?", 100),
            "text": plain(f"It is posted publicly on {where} and can't be unsent.", 300),
            "confirm": plain("Send", 30), "deny": plain("Not yet", 30)}


def approve_confirm(view: CardView) -> dict | None:
    if not draft_overtaken(view):
        return None
    return {"title": plain("Approve an outdated reply?", 100),
            "text": plain("The customer wrote again after this draft was written, and it "
                          "doesn't answer that. Read their latest message first, or reject "
                          "so the draft is rewritten.", 300),
            "confirm": plain("Approve anyway", 30), "deny": plain("Not yet", 30),
            "style": "danger"}


def replyable(view: CardView) -> bool:
    """A reply can go out from here: a reply channel exists and the network allows it."""
    return view.can_reply and not view.reply_blocked


def draft_rejected(view: CardView) -> bool:
    return view.draft is not None and view.draft.decision == "rejected"


def draft_next(view: CardView) -> list[dict]:
    """After a draft: Submit for approval or Send — or, with no way to reply from here,
    Mark as handled elsewhere. Neither Submit nor Send while the latest draft stands rejected
    (bot.domain.workflow refuses both until it is edited)."""
    if not replyable(view):
        return [button("Mark as handled elsewhere", Action.HANDLED_ELSEWHERE, ref(view))]
    if draft_rejected(view):
        return []
    if view.approval_required:
        return [button("Submit for approval", Action.SUBMIT, ref(view), "primary")]
    return [button("Send", Action.SEND, ref(view), "primary", send_confirm(view))]


def approval_buttons(view: CardView) -> list[dict]:
    return [button("Approve", Action.APPROVE, ref(view), "primary", approve_confirm(view)),
            button("Approve with edits", Action.APPROVE_EDIT, ref(view)),
            button("Reject", Action.REJECT, ref(view), "danger")]


def _signed(points: int) -> str:
    return f"+{points}" if points >= 0 else f"−{-points}"


def why_line(view: CardView) -> str:
    """`*Why P1:* score 82/100 · legal threat · risk +25 · negativity +24 …`: the matched
    rules, then the largest score parts (escaped)."""
    parts = sorted(view.score_parts.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:TOP_PARTS]
    bits = [*(inline(r) for r in view.matched_rules),
            *(f"{inline(name).replace('_', ' ')} {_signed(points)}" for name, points in parts)]
    reasons = " · ".join(bits) if bits else "score only"
    return (f"*Why {esc(view.priority, 8)}:* score {view.score}/100 · "
            + truncate_escaped(reasons, 1500))


def sentiment_line(view: CardView) -> str:
    """`🙁 Negative (-0.73) · 📣 Complaint (94 %)`: the complaint part only when flagged."""
    if view.sentiment == UNKNOWN_SENTIMENT:  # never shown as neutral
        lang = esc(view.lang or "und", 16)
        line = f":grey_question: Sentiment unknown: no weights for this language ({lang})"
    else:
        line = (f"{SENTIMENT_EMOJI.get(view.sentiment, '')} "
                f"{esc(label(view.sentiment), 40)} ({view.compound:+.2f})").strip()
    if view.complaint:
        line += f" · :mega: Complaint ({view.complaint_probability:.0%})"
    return line


# --- The card ---------------------------------------------------------------------------------
def card(view: CardView) -> dict:
    """The card of one mention, in its current state, with the buttons that state allows."""
    blocks: list[dict] = [
        section(f"{PRIORITY_EMOJI.get(view.priority, ':white_circle:')} "
                f"*{esc(view.priority, 8)} · {network_label(view)}* · "
                f"{esc(view.team_label, 200)} · "
                f"*{STATUS_LABEL.get(view.status) or esc(view.status, 40)}*"),
        context(author_line(view), _author_facts(view), _history(view)),
        section(truncate_escaped(view.text, POST_TEXT_MAX) if view.text.strip()
                else "_(no text)_"),
        context(*_source_bits(view)),
        context(sentiment_line(view), why_line(view)),
    ]
    badges = [f":warning: *{esc(label(r), 200)}*" for r in view.risk[:8]]
    if view.approval_required:
        badges.append(":lock: *Approval required*")
    if badges:
        blocks.append(context(*badges))
    if view.sla_due_at and view.status not in ("sent", "closed"):
        blocks.append(context(
            f":rotating_light: *Overdue* — the reply was due {slack_date(view.sla_due_at)}"
            if view.overdue else f":stopwatch: Reply due {slack_date(view.sla_due_at)}"))
    if lines := conversation_lines(view):
        blocks.append(section("\n".join(lines)))
    blocks.extend(_state(view))
    if view.reply_blocked:
        blocks.append(section(":no_entry: *No reply from here:* "
                              + truncate_escaped(view.reply_blocked, 1000)))
    if not view.can_reply:
        blocks.append(context(":information_source: Read-only source: there is no way to reply "
                              "from Slack. Answer where it was posted, then mark it handled."))
    actions = _actions(view)
    if actions:
        blocks.append({"type": "actions", "elements": actions[:ACTIONS_ELEMENTS_MAX]})
    return {"text": _fallback(view), "blocks": blocks}


def _fallback(view: CardView) -> str:
    """The notification text: priority, network, handle, the first words of the post."""
    head = f"{view.priority} · {NETWORK_LABEL.get(view.network, view.network)} · "
    return truncate_escaped(f"{head}{raw_handle(view)}: {inline(view.text)}", 300)


def _author_facts(view: CardView) -> str:
    if view.network == "rss":  # a web site: feeds have no followers to count
        return esc(label(view.author_type), 100)
    followers = f"{view.followers:,} follower{'s' if view.followers != 1 else ''}"
    return f"{esc(label(view.author_type), 100)} · {followers}"


def _history(view: CardView) -> str:
    n = view.earlier_mentions
    if n <= 0:
        return "First mention"
    text = f"{n:,} earlier mention{'s' if n != 1 else ''}"
    if view.last_outcome:
        text += f", last: {esc(view.last_outcome.replace('_', ' '), 100)}"
    return text


def _source_bits(view: CardView) -> list[str]:
    bits = [link(view.url, f"Open on {network_label(view)}") if view.url else "_no link_"]
    if view.created_at:
        bits.append(f"posted {slack_date(view.created_at)}")
    if view.lang:
        bits.append(esc(view.lang, 16))
    return [" · ".join(bits), *_review_bits(view), *_meta_bits(view)]


# What a Meta mention is, in the card's words (`Mention.extra["kind"]`).
META_KINDS = {("facebook", "comment"): "A comment on the Page's post",
              ("facebook", "reply"): "A reply in a comment thread on the Page",
              ("facebook", "visitor_post"): "A visitor's post on the Page",
              ("facebook", "tag"): "A post that tags the Page",
              ("instagram", "comment"): "A comment on the account's post",
              ("instagram", "reply"): "A reply in a comment thread on the account's post",
              ("instagram", "tag"): "Someone else's post that tags the account",
              ("instagram", "mention_comment"): "A comment on someone else's post that "
                                                "mentions the account"}


def _meta_bits(view: CardView) -> list[str]:
    """Where on Facebook or Instagram it was written, and whether the brand hid it."""
    out: list[str] = []
    kind = META_KINDS.get((view.network, view.extra.get("kind", "")))
    if kind:
        out.append(kind)
    if view.extra.get("hidden"):
        out.append(":see_no_evil: Hidden by the Page: only its author and their friends see it"
                   if view.network == "facebook" else
                   ":see_no_evil: Hidden by the account: only its author sees it")
    return out


def stars(rating: str | None) -> str | None:
    """`★★☆☆☆ 2/5` for a review's rating, None when there is none."""
    if not rating or not rating.isdigit() or not 1 <= int(rating) <= 5:
        return None
    n = int(rating)
    return f"{'★' * n}{'☆' * (5 - n)} {n}/5"


def _review_bits(view: CardView) -> list[str]:
    """An app review's rating and facts, and what a reply does there."""
    extra = view.extra
    out: list[str] = []
    facts = [f"*{s}*" for s in [stars(extra.get("rating"))] if s]
    for key, name in (("app_version", "version"), ("device", "device"),
                      ("territory", "territory")):
        if extra.get(key):
            facts.append(f"{name} {esc(extra[key], 40)}")
    if facts:
        out.append(" · ".join(facts))
    if view.network in ONE_REPLY_NETWORKS:
        if extra.get("edited_after_reply"):
            out.append(":pencil2: Edited by its author after our reply: sending edits our "
                       "reply")
        elif extra.get("developer_reply"):
            # Apple reviews a new response before customers see it (PENDING_PUBLISH).
            pending = (" (not yet published by Apple)"
                       if extra.get("response_state") == "PENDING_PUBLISH" else "")
            out.append(f":speech_balloon: Already answered{pending}: sending replaces that "
                       "answer — "
                       + truncate_escaped(extra["developer_reply"], 300))
        else:
            out.append("One reply per review: a later reply replaces it")
    return out


def _draft_block(view: CardView, heading: str) -> dict | None:
    d = view.draft
    if d is None:
        return None
    return section(f"{heading} by {mention(d.author)} · {slack_date(d.created_at)}\n"
                   + (truncate_escaped(d.text, DRAFT_TEXT_MAX) or "_(empty)_"))


def _state(view: CardView) -> list[dict]:
    """Who holds it, the draft, the approval, the reply, the outcome."""
    s = view.status
    out: list[dict] = []
    lines: list[str] = []
    if view.claimed_by and s in ("claimed", "drafted", "pending_approval", "approved", "sent"):
        lines.append(f":raising_hand: Claimed by {mention(view.claimed_by)}")
    if s == "new":
        lines.append("_Unclaimed — claim it to start a reply._")
    d = view.draft
    if s == "drafted" and d and d.decision == "rejected":
        reason = truncate_escaped(d.reason or "no reason given", 1000)
        lines.append(f":leftwards_arrow_with_hook: Rejected by {mention(d.decided_by)}: {reason}"
                     "\nEdit the draft before submitting again.")
    if s == "pending_approval":
        lines.append(f":hourglass_flowing_sand: Awaiting approval from {mentions(view.approvers)}")
    if s == "approved" and d:
        lines.append(f":white_check_mark: Approved by {mention(d.decided_by)}")
    if s in ("sent", "closed") and view.reply:
        lines.append(_reply_line(view))
    if view.outcome_tags:
        tags = ", ".join(label(inline(t)) for t in view.outcome_tags)
        lines.append(f":label: Outcome: {truncate_escaped(tags, 600)}")
    elif s == "sent":
        lines.append(":label: Tag the outcome to close this card.")
    if s == "closed":
        lines.append(":white_check_mark: Closed")
    out.extend(sections(lines))
    heading = {"drafted": "*Draft*", "pending_approval": "*Draft for approval*",
               "approved": "*Approved draft*", "sent": "*Reply*", "closed": "*Reply*"}.get(s)
    if heading and (block := _draft_block(view, heading)):
        out.append(block)
    return out


def _reply_line(view: CardView) -> str:
    r = view.reply
    assert r is not None
    who = mention(r.sent_by)
    when = f" {slack_date(r.sent_at)}" if r.sent_at else ""
    if r.state == "sent":
        where = f" · {link(r.url, 'View reply')}" if r.url else ""
        return f":outbox_tray: Sent by {who}{when}{where}"
    if r.state == "sending":
        return f":hourglass: Sending (started by {who})…"
    if r.state == "unknown":
        return (f":grey_question: Send by {who} has an unknown outcome: checking "
                f"{network_label(view)} before anything is retried.")
    error = truncate_escaped(r.error or "unknown error", 500)
    return f":x: Send by {who} failed: {error}"


def _actions(view: CardView) -> list[dict]:
    s = view.status
    if s == "closed":
        return []
    out: list[dict] = []
    edit = button("Edit draft", Action.DRAFT, ref(view))
    if s == "new":
        out.append(button("Claim", Action.CLAIM, ref(view), "primary"))
    elif s == "claimed":
        out.append(button("Draft reply", Action.DRAFT, ref(view), "primary"))
        if not replyable(view):
            out.append(button("Mark as handled elsewhere", Action.HANDLED_ELSEWHERE, ref(view)))
        out.append(button("Unclaim", Action.UNCLAIM, ref(view)))
    elif s == "drafted":
        out.extend([edit, *draft_next(view), button("Unclaim", Action.UNCLAIM, ref(view))])
    elif s == "pending_approval":
        out.extend(approval_buttons(view))
    elif s == "approved":
        if replyable(view):
            out.append(button("Send", Action.SEND, ref(view), "primary", send_confirm(view)))
        out.append(edit)
    elif s == "sent" and (select := _outcome_select(view)):
        out.append(select)
    if view.author_type == "advocate" and view.sentiment == "positive" and view.can_reply:
        out.extend([button("Like", Action.LIKE, ref(view)),
                    button("Repost", Action.REPOST, ref(view))])
    out.append({"type": "overflow", "action_id": str(Action.MORE),
                "options": [{"text": plain(text, OPTION_TEXT_MAX),
                             "value": ref(view, str(choice))}
                            for choice, text in overflow_choices(view)]})
    return out


# Comments on the brand's own Facebook Page or Instagram media can be hidden from the card.
MODERATED = {"facebook": "on Facebook", "instagram": "on Instagram"}


def overflow_choices(view: CardView) -> list[tuple[Overflow, str]]:
    choices = list(OVERFLOW_LABEL.items())
    where = MODERATED.get(view.network)
    if where and view.extra.get("kind") in ("comment", "reply"):
        choices.insert(-1, (Overflow.UNHIDE, f"Unhide {where}") if view.extra.get("hidden")
                       else (Overflow.HIDE, f"Hide {where}"))
    return choices


def _outcome_select(view: CardView) -> dict | None:
    """The rules file's outcomes. An outcome whose value would pass Slack's 150 characters
    cannot be offered (and one is never cut: a cut value would tag the wrong outcome)."""
    options, seen = [], set()
    for outcome in view.outcomes:
        value = ref(view, outcome)
        if outcome in seen or len(value) > OPTION_VALUE_MAX or not outcome.strip():
            continue
        seen.add(outcome)
        options.append({"text": plain(label(outcome), OPTION_TEXT_MAX), "value": value})
        if len(options) == OPTIONS_MAX:
            break
    if not options:
        return None
    return {"type": "static_select", "action_id": str(Action.OUTCOME),
            "placeholder": plain("Tag the outcome", 150), "options": options}

