"""Modals (`views.open` payloads). Each carries the card's `CardRef` in `private_metadata`, so
the submission is checked against the version the user saw; inputs use `ids.Block` for both
`block_id` and `action_id`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.domain.card import CardView
from bot.slack.blocks.card import handle, handle_of, network_label, raw_handle, ref
from bot.slack.blocks.text import (
    INPUT_MAX,
    MODAL_TITLE_MAX,
    OPTION_TEXT_MAX,
    OPTION_VALUE_MAX,
    OPTIONS_MAX,
    clip,
    context,
    esc,
    escape_mrkdwn,
    label,
    mention,
    plain,
    section,
    truncate_escaped,
)
from bot.slack.ids import Block, ComplaintChoice, Overflow, View

POST_EXCERPT_MAX = 1200  # the post being answered, shown above the reply box


class TemplateLike(Protocol):
    """`bot.domain.rules.schema.Template`: a saved reply offered in the draft modal."""

    @property
    def name(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def teams(self) -> list[str]: ...


def modal(callback_id: View, title: str, blocks: list[dict], metadata: str,
          submit: str | None = None, close: str = "Cancel") -> dict:
    view = {"type": "modal", "callback_id": str(callback_id),
            "title": plain(title, MODAL_TITLE_MAX), "blocks": blocks,
            "close": plain(close, MODAL_TITLE_MAX), "private_metadata": metadata}
    if submit:
        view["submit"] = plain(submit, MODAL_TITLE_MAX)
    return view


def _option(text: str, value: str) -> dict:
    return {"text": plain(text or value, OPTION_TEXT_MAX), "value": value}


def _options(pairs: Sequence[tuple[str, str]]) -> list[dict]:
    """(value, text) pairs → options: unique values that fit Slack's 150 characters (a value
    is never cut — it would name something else), at most 100."""
    out, seen = [], set()
    for value, text in pairs:
        if not value or value in seen or len(value) > OPTION_VALUE_MAX:
            continue
        seen.add(value)
        out.append(_option(text, value))
    return out[:OPTIONS_MAX]


def _text_input(initial: str, label_text: str, placeholder: str, block_id: str,
                multiline: bool = True, optional: bool = False) -> dict:
    element = {"type": "plain_text_input", "action_id": str(Block.DRAFT_TEXT),
               "multiline": multiline, "max_length": INPUT_MAX,
               "placeholder": plain(placeholder, 150), "focus_on_load": True}
    if initial:
        element["initial_value"] = clip(initial, INPUT_MAX)  # raw: it is what they edit
    return {"type": "input", "block_id": block_id, "optional": optional,
            "label": plain(label_text, 2000), "element": element}


def _post_excerpt(view: CardView) -> list[dict]:
    """The post the reply answers: the customer's latest message once they have written
    again (not the card's original), else the mention."""
    latest = view.conversation.reply_to if view.conversation else None
    if latest is not None:
        who = escape_mrkdwn(handle_of(latest.network, latest.author_handle))
        body = latest.text
        head = f"Replying to {who}'s latest message on {network_label(view)}"
    else:
        body, head = view.text, f"Replying to {handle(view)} on {network_label(view)}"
    text = truncate_escaped(body, POST_EXCERPT_MAX) if body.strip() else "_(no text)_"
    return [context(head), section(text)]


def _limit_line(view: CardView, limit: tuple[int, str] | None) -> list[dict]:
    if limit is None:
        return []
    most, unit = limit
    return [context(f"{network_label(view)}: {most:,} {esc(unit, 100)} · checked when you save")]


def _warning(view: CardView) -> list[dict]:
    if not view.reply_blocked:
        return []
    return [section(":no_entry: *No reply from here:* " + truncate_escaped(view.reply_blocked, 1000))]


def draft_modal(view: CardView, templates: Sequence[TemplateLike],
                limit: tuple[int, str] | None, *, text: str | None = None,
                revision: int = 0) -> dict:
    """Write or edit the reply. Prefilled with `text` when given (e.g. a template the user
    picked), else the latest draft, else `@handle ` on X and Mastodon. `limit` is
    `bot.domain.limits.reply_limit(network)` (None where there is no reply channel): shown, and
    enforced when the submission is checked, not here.

    The template select dispatches an action on change; to show a template's text the
    listener re-renders with `text=template.text, revision=n+1`: Slack keeps what was typed
    in an input whose `block_id` is unchanged, so the text block's id becomes
    `draft_text-<n>` (its `action_id` is always `Block.DRAFT_TEXT`)."""
    if text is None:
        if view.draft is not None:
            text = view.draft.text
        elif view.network in ("x", "mastodon"):
            text = raw_handle(view) + " "
        else:
            text = ""
    blocks = [*_post_excerpt(view), *_warning(view)]
    mine = [t for t in templates if not t.teams or view.team in t.teams]
    options = _options([(t.name, t.name) for t in mine if t.name.strip()])
    if options:
        blocks.append({"type": "input", "block_id": str(Block.TEMPLATE), "optional": True,
                       "dispatch_action": True, "label": plain("Start from a saved reply"),
                       "element": {"type": "static_select", "action_id": str(Block.TEMPLATE),
                                   "placeholder": plain("Choose a template", 150),
                                   "options": options}})
    block_id = str(Block.DRAFT_TEXT) if revision <= 0 else f"{Block.DRAFT_TEXT}-{revision}"
    blocks.append(_text_input(text, "Your reply", "Write the reply…", block_id))
    blocks.extend(_limit_line(view, limit))
    title = "Draft a reply" if view.network == "rss" else f"Reply on {network_label(view)}"
    return modal(View.DRAFT, title, blocks, ref(view), submit="Save draft")


def approve_edit_modal(view: CardView, limit: tuple[int, str] | None = None) -> dict:
    """The approver edits the draft, then approves it (the edit is audited as theirs)."""
    if view.draft is None:
        raise ValueError("approve_edit_modal needs a draft")
    blocks = [*_post_excerpt(view), *_warning(view),
              context(f"Draft by {mention(view.draft.author)}"),
              _text_input(view.draft.text, "Reply to approve", "The approved reply…",
                          str(Block.DRAFT_TEXT)),
              *_limit_line(view, limit)]
    return modal(View.APPROVE_EDIT, "Approve with edits", blocks, ref(view), submit="Approve")


def reject_modal(view: CardView) -> dict:
    """Reject the draft with a reason, which goes back to its author."""
    if view.draft is None:
        raise ValueError("reject_modal needs a draft")
    blocks = [context(f"Draft by {mention(view.draft.author)} for {handle(view)} on "
                      f"{network_label(view)}"),
              section(truncate_escaped(view.draft.text, 2900) or "_(empty)_"),
              {"type": "input", "block_id": str(Block.REASON), "optional": False,
               "label": plain("What should change?"),
               "element": {"type": "plain_text_input", "action_id": str(Block.REASON),
                           "multiline": True, "min_length": 1, "max_length": INPUT_MAX,
                           "focus_on_load": True,
                           "placeholder": plain("The reason is sent to the drafter", 150)}}]
    return modal(View.REJECT, "Reject draft", blocks, ref(view), submit="Reject")


def reassign_modal(view: CardView, teams: Sequence[tuple[str, str]]) -> dict:
    """Send the mention to another team's channel (it starts over there as new)."""
    others = _options([(team_id, team_label) for team_id, team_label in teams
                       if team_id != view.team])
    now = context(f"Now with *{esc(view.team_label, 200)}*")
    if not others:
        return modal(View.REASSIGN, "Reassign team",
                     [now, section("There is no other team in the rules file.")], ref(view),
                     close="Close")
    blocks = [now, {"type": "input", "block_id": str(Block.TEAM), "label": plain("New team"),
                    "element": {"type": "static_select", "action_id": str(Block.TEAM),
                                "placeholder": plain("Choose a team", 150),
                                "options": others}}]
    return modal(View.REASSIGN, "Reassign team", blocks, ref(view), submit="Reassign")


CORRECTIONS = {  # field → (title, input label, current value on the card)
    Overflow.PRIORITY: ("Change priority", "Priority", lambda v: v.priority),
    Overflow.SENTIMENT: ("Correct sentiment", "Sentiment", lambda v: v.sentiment),
    Overflow.AUTHOR_TYPE: ("Mark author as", "Author type", lambda v: v.author_type),
}


def correct_modal(view: CardView, field: str, choices: Sequence[str | tuple[str, str]]) -> dict:
    """Correct the priority, sentiment or author type; `choices` are values or
    (value, text) pairs (PRIORITIES, SENTIMENTS, AUTHOR_TYPES). Stored and audited: they are
    the data for tuning the rules."""
    try:
        title, input_label, current_of = CORRECTIONS[Overflow(field)]
    except (ValueError, KeyError):
        raise ValueError(f"{field!r} cannot be corrected here "
                         f"(one of {', '.join(map(str, CORRECTIONS))})") from None
    pairs = [(c, label(c)) if isinstance(c, str) else (c[0], c[1]) for c in choices]
    pairs = [(value, text) for value, text in pairs if value.strip()]
    options = _options(pairs)
    if not options:
        raise ValueError("correct_modal needs at least one choice")
    current = current_of(view)
    element = {"type": "static_select", "action_id": str(Block.VALUE),
               "placeholder": plain("Choose", 150), "options": options}
    chosen = next((o for o in options if o["value"] == current), None)
    if chosen:
        element["initial_option"] = chosen
    who = f" for {handle(view)}" if field == Overflow.AUTHOR_TYPE else ""
    blocks = [context(f"Now: *{esc(label(current), 100)}*{who} · "
                      f"{'a complaint' if view.complaint else 'not a complaint'} "
                      f"({view.complaint_probability:.0%}) · corrections are recorded "
                      "to tune the rules"),
              {"type": "input", "block_id": str(Block.VALUE), "label": plain(input_label),
               "element": element},
              complaint_input()]
    return modal(View.CORRECT, title, blocks, ref(view, str(Overflow(field))), submit="Save")


COMPLAINT_OPTIONS = ((ComplaintChoice.UNCHANGED, "Unchanged"),
                     (ComplaintChoice.COMPLAINT, "A complaint"),
                     (ComplaintChoice.NOT_COMPLAINT, "Not a complaint"))


def complaint_input() -> dict:
    """The correction modal's second select: the complaint flag (the overflow menu is at
    Slack's 5-option limit, so it has no item of its own). Starts at `unchanged`."""
    options = _options([(str(v), text) for v, text in COMPLAINT_OPTIONS])
    return {"type": "input", "block_id": str(Block.COMPLAINT), "label": plain("Complaint"),
            "element": {"type": "static_select", "action_id": str(Block.COMPLAINT),
                        "placeholder": plain("Choose", 150), "options": options,
                        "initial_option": options[0]}}

