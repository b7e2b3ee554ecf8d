"""Modal listeners. Input problems go back in the ack (`response_action: errors`) so the person
fixes them in place; refusals after that (someone else acted first) become ephemeral notes."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.domain.errors import NotAllowed
from bot.slack import blocks
from bot.slack.ids import Block, CardRef, ComplaintChoice, View
from bot.slack.services import services_of
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


def _reply_text(ack: Ack, view: dict, context: BoltContext) -> tuple[CardRef, str] | None:
    """The reply typed in a modal, acked; or None after acking the problem back into it."""
    ref, values = _ref(view), view["state"]["values"]
    text = _text(values, Block.DRAFT_TEXT)
    problem = services_of(context).reply_problem(ref.mention_id, text)
    if problem:
        ack(response_action="errors", errors={_block_id(values, Block.DRAFT_TEXT): problem})
        return None
    ack()
    return ref, text


def on_draft_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
    typed = _reply_text(ack, view, context)
    if typed is None:
        return
    services_of(context).act(View.DRAFT, context["actor"], typed[0], typed[1], source="modal")


def on_template_chosen(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """Put the chosen saved reply into the text box (a new block id, or Slack keeps the old)."""
    ack()
    view = body["view"]
    ref = _ref(view)
    name = ((body["actions"][0].get("selected_option") or {}).get("value") or "")
    card = services_of(context).card(ref.mention_id)
    template = next((t for t in card.templates if t.name == name), None)
    if template is None:
        return
    # The text box's block id is `draft_text` then `draft_text-1`, `-2`…: one more each time.
    current = _block_id({b.get("block_id", ""): {} for b in view["blocks"]}, Block.DRAFT_TEXT)
    revision = int(current.rpartition("-")[2]) + 1 if "-" in current else 1
    client.views_update(view_id=view["id"], hash=view.get("hash"), view=blocks.draft_modal(
        card.view, card.templates, card.limit, text=template.text, revision=revision))


def on_approve_edit_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
    typed = _reply_text(ack, view, context)
    if typed is None:
        return
    services_of(context).act(View.APPROVE_EDIT, context["actor"], typed[0],
                             edited_text=typed[1])


def on_reject_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
    ref, values = _ref(view), view["state"]["values"]
    reason = _text(values, Block.REASON)
    if not reason:
        ack(response_action="errors", errors={Block.REASON.value: "Say what should change."})
        return
    ack()
    services_of(context).act(View.REJECT, context["actor"], ref, reason)


def _selected(values: Values, block: Block) -> str:
    return ((_input(values, block).get("selected_option") or {}).get("value") or "")


def on_reassign_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
    ref = _ref(view)
    team = _selected(view["state"]["values"], Block.TEAM)
    ack()
    services_of(context).act(View.REASSIGN, context["actor"], ref, team)


def on_correct_submitted(ack: Ack, view: dict, context: BoltContext) -> None:
    ref, values = _ref(view), view["state"]["values"]
    value = _selected(values, Block.VALUE)
    # The second select: `unchanged` (or a modal without it) leaves the flag alone; any other
    # value goes to the desk, which takes only what the modal offers.
    complaint = _selected(values, Block.COMPLAINT)
    ack()
    services_of(context).act(View.CORRECT, context["actor"], ref, ref.option or "", value,
                             complaint=None if complaint in ("", ComplaintChoice.UNCHANGED)
                             else complaint)


def register(app: App) -> None:
    app.view(View.DRAFT.value)(reported(on_draft_submitted))
    app.view(View.APPROVE_EDIT.value)(reported(on_approve_edit_submitted))
    app.view(View.REJECT.value)(reported(on_reject_submitted))
    app.view(View.REASSIGN.value)(reported(on_reassign_submitted))
    app.view(View.CORRECT.value)(reported(on_correct_submitted))
    app.action(Block.TEMPLATE.value)(reported(on_template_chosen))
