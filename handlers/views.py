"""Modal listeners. Input problems go back in the ack (`response_action: errors`) so the person
fixes them in place; refusals after that (someone else acted first) become ephemeral notes."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.desk import commands as desk
from bot.domain.errors import NotAllowed
from bot.domain.limits import NoReplyChannel, reply_length
from bot.slack import blocks
from bot.slack.ids import Block, CardRef, View
from handlers.errors import reported

Values = dict[str, dict[str, dict]]


def _ref(view: dict) -> CardRef:
    try:
        return CardRef.decode(view.get("private_metadata") or "")
    except ValueError:
        raise NotAllowed("That form is not one of ours (or it is broken).") from None


def _input(values: Values, block: Block) -> dict:
    """The element state of `block`; the draft text box's block id carries a revision suffix."""
    for block_id, elements in values.items():
        if block_id == block.value or block_id.startswith(f"{block.value}-"):
            return elements.get(block.value) or {}
    return {}


def _block_id(values: Values, block: Block) -> str:
    return next((b for b in values if b == block.value or b.startswith(f"{block.value}-")),
                block.value)


def _text(values: Values, block: Block) -> str:
    return (_input(values, block).get("value") or "").strip()


def _length_error(network: str, text: str, limit: tuple[int, str] | None) -> str | None:
    if not text:
        return "Write something first."
    if limit is None:
        return None
    try:
        used = reply_length(network, text)
    except NoReplyChannel:
        return None
    return f"{used} of {limit[0]} {limit[1]}: shorten it." if used > limit[0] else None


def _reply_text(ack: Ack, view: dict, context: BoltContext) -> tuple[CardRef, str] | None:
    """The reply typed in a modal, acked; or None after acking the problem back into it."""
    ref, values = _ref(view), view["state"]["values"]
    text = _text(values, Block.DRAFT_TEXT)
    network, limit = context["services"].reply_limit_of(ref.mention_id)
    problem = _length_error(network, text, limit)
    if problem:
        ack(response_action="errors", errors={_block_id(values, Block.DRAFT_TEXT): problem})
        return None
    ack()
    return ref, text


def on_draft_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
    typed = _reply_text(ack, view, context)
    if typed is None:
        return
    with context["services"].work() as w:
        desk.save_draft(w.session, w.rules, w.directory, context["actor"], typed[0], typed[1],
                        source="modal", now=w.now)


def on_template_chosen(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """Put the chosen saved reply into the text box (a new block id, or Slack keeps the old)."""
    ack()
    view = body["view"]
    ref = _ref(view)
    name = ((body["actions"][0].get("selected_option") or {}).get("value") or "")
    with context["services"].work() as w:
        template = next((t for t in w.rules.templates if t.name == name), None)
        card = desk.card_view(w.session, w.rules, ref.mention_id, now=w.now)
        templates = w.rules.templates
    if template is None:
        return
    # The text box's block id is `draft_text` then `draft_text-1`, `-2`…: one more each time.
    current = _block_id({b.get("block_id", ""): {} for b in view["blocks"]}, Block.DRAFT_TEXT)
    revision = int(current.rpartition("-")[2]) + 1 if "-" in current else 1
    _, limit = context["services"].reply_limit_of(ref.mention_id)
    client.views_update(view_id=view["id"], hash=view.get("hash"), view=blocks.draft_modal(
        card, templates, limit, text=template.text, revision=revision))


def on_approve_edit_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
    typed = _reply_text(ack, view, context)
    if typed is None:
        return
    with context["services"].work() as w:
        desk.approve(w.session, w.rules, w.directory, context["actor"], typed[0],
                     edited_text=typed[1], now=w.now)


def on_reject_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
    ref, values = _ref(view), view["state"]["values"]
    reason = _text(values, Block.REASON)
    if not reason:
        ack(response_action="errors", errors={Block.REASON.value: "Say what should change."})
        return
    ack()
    with context["services"].work() as w:
        desk.reject(w.session, w.rules, w.directory, context["actor"], ref, reason, now=w.now)


def _selected(values: Values, block: Block) -> str:
    return ((_input(values, block).get("selected_option") or {}).get("value") or "")


def on_reassign_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
    ref = _ref(view)
    team = _selected(view["state"]["values"], Block.TEAM)
    ack()
    with context["services"].work() as w:
        desk.reassign(w.session, w.rules, w.directory, context["actor"], ref, team, now=w.now)


def on_correct_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
    ref = _ref(view)
    value = _selected(view["state"]["values"], Block.VALUE)
    ack()
    with context["services"].work() as w:
        desk.correct(w.session, w.rules, w.directory, context["actor"], ref, ref.option or "",
                     value, now=w.now)


def register(app: App) -> None:
    app.view(View.DRAFT.value)(reported(on_draft_submitted))
    app.view(View.APPROVE_EDIT.value)(reported(on_approve_edit_submitted))
    app.view(View.REJECT.value)(reported(on_reject_submitted))
    app.view(View.REASSIGN.value)(reported(on_reassign_submitted))
    app.view(View.CORRECT.value)(reported(on_correct_submitted))
    app.action(Block.TEMPLATE.value)(reported(on_template_chosen))
