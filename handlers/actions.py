"""Button, select and overflow listeners on cards, approval messages and alerts.

Each is the same few lines: ack at once (Slack's 3-second rule), decode the typed value, ask
the services for one desk command (`Services.act`, keyed by the action id). Card refreshes go
through the outbox; refusals are raised as domain errors and shown by `handlers.errors`.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.domain.errors import NotAllowed
from bot.slack import blocks
from bot.slack.ids import Action, AlertRef, CardRef, Overflow
from bot.slack.services import CORRECTION_CHOICES, services_of
from handlers.errors import reported


def _ref(body: dict) -> CardRef:
    action = body["actions"][0]
    raw = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    try:
        return CardRef.decode(raw)
    except ValueError:
        raise NotAllowed("That button is not one of ours (or it is broken).") from None


def _simple(action: Action) -> Callable[[Ack, dict, BoltContext], None]:
    """claim, unclaim, submit, approve, handled elsewhere: the card's ref is all they need."""
    def listener(ack: Ack, body: dict, context: BoltContext) -> None:
        ack()
        services_of(context).act(action, context["actor"], _ref(body))

    listener.__name__ = f"on_{action.value}"
    return listener


def on_send(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    services_of(context).send(context["actor"], _ref(body))


def on_outcome(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    ref = _ref(body)
    services_of(context).act(Action.OUTCOME, context["actor"], ref, ref.option or "")


def on_amplify(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    button = Action(body["actions"][0]["action_id"])
    services_of(context).amplify(context["actor"], _ref(body), button)


def _open(client: WebClient, body: dict, view: dict) -> None:
    client.views_open(trigger_id=body["trigger_id"], view=view)


def on_draft(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """Open the reply modal: the trigger_id is only good for 3 s, so nothing slow before it."""
    ack()
    card = services_of(context).card(_ref(body).mention_id)
    _open(client, body, blocks.draft_modal(card.view, card.templates, card.limit))


def on_reject(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    card = services_of(context).card(_ref(body).mention_id)
    _open(client, body, blocks.reject_modal(card.view))


def on_approve_edit(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    card = services_of(context).card(_ref(body).mention_id)
    _open(client, body, blocks.approve_edit_modal(card.view, card.limit))


def on_more(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """The overflow menu: dismiss at once; the others open a small modal."""
    ack()
    ref = _ref(body)
    if ref.option is None:
        raise NotAllowed("That menu item is not one of ours (or it is broken).")
    choice = Overflow(ref.option)
    services = services_of(context)
    if choice is Overflow.DISMISS:
        services.act(Overflow.DISMISS, context["actor"], ref)
        return
    if choice in (Overflow.HIDE, Overflow.UNHIDE):  # at once, audited; the card then says so
        services.moderate(context["actor"], ref, hidden=choice is Overflow.HIDE)
        return
    card = services.card(ref.mention_id)
    if choice is Overflow.REASSIGN:
        _open(client, body, blocks.reassign_modal(card.view, card.teams))
    else:
        _open(client, body, blocks.correct_modal(card.view, choice.value,
                                                 CORRECTION_CHOICES[choice]))


def on_open_crisis(ack: Ack, body: dict, context: BoltContext) -> None:
    """A spike alert's "Open crisis thread": the first click opens it, later ones are told who."""
    ack()
    try:
        alert = AlertRef.decode(body["actions"][0].get("value") or "")
    except ValueError:
        raise NotAllowed("That button is not one of ours (or it is broken).") from None
    where = body.get("container") or {}
    services_of(context).open_crisis(context["actor"], alert.alert_id,
                                     channel=where.get("channel_id"), ts=where.get("message_ts"))


def register(app: App) -> None:
    for action in (Action.CLAIM, Action.UNCLAIM, Action.SUBMIT, Action.APPROVE,
                   Action.HANDLED_ELSEWHERE):
        app.action(action.value)(reported(_simple(action)))
    app.action(Action.SEND.value)(reported(on_send))
    app.action(Action.OUTCOME.value)(reported(on_outcome))
    app.action(Action.LIKE.value)(reported(on_amplify))
    app.action(Action.REPOST.value)(reported(on_amplify))
    app.action(Action.DRAFT.value)(reported(on_draft))
    app.action(Action.APPROVE_EDIT.value)(reported(on_approve_edit))
    app.action(Action.REJECT.value)(reported(on_reject))
    app.action(Action.MORE.value)(reported(on_more))
    app.action(Action.OPEN_CRISIS.value)(reported(on_open_crisis))
