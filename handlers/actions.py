"""Button, select and overflow listeners on cards and approval messages.

Each is the same few lines: ack at once (Slack's 3-second rule), decode the typed value, call
one `bot.desk.commands` function in a unit of work. Card refreshes go through the outbox; refusals are
raised as domain errors and shown by `handlers.errors.on_error`.
"""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.desk import commands as desk
from bot.domain.errors import NotAllowed
from bot.domain.limits import NoReplyChannel, reply_limit
from bot.domain.rules.schema import AUTHOR_TYPES, PRIORITIES, SENTIMENTS
from bot.slack import blocks
from bot.slack.ids import Action, AlertRef, CardRef, Overflow
from bot.timers import alerts
from handlers.errors import reported


def _ref(body: dict) -> CardRef:
    action = body["actions"][0]
    raw = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    try:
        return CardRef.decode(raw)
    except ValueError:
        raise NotAllowed("That button is not one of ours (or it is broken).") from None


def _limit(network: str) -> tuple[int, str] | None:
    try:
        return reply_limit(network)
    except NoReplyChannel:
        return None


def _simple(service):  # claim, unclaim, submit, dismiss, handled elsewhere
    def listener(ack: Ack, body: dict, context: BoltContext) -> None:
        ack()
        with context["services"].work() as w:
            service(w.session, w.rules, w.directory, context["actor"], _ref(body), now=w.now)

    listener.__name__ = f"on_{service.__name__}"
    return listener


def on_send(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    context["services"].send(context["actor"], _ref(body))


def on_outcome(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    ref = _ref(body)
    with context["services"].work() as w:
        desk.tag(w.session, w.rules, w.directory, context["actor"], ref, ref.option or "",
                 now=w.now)


def on_amplify(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    action = Action(body["actions"][0]["action_id"])
    context["services"].amplify(context["actor"], _ref(body), action.value)


def _open(client: WebClient, body: dict, view: dict) -> None:
    client.views_open(trigger_id=body["trigger_id"], view=view)


def on_draft(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """Open the reply modal: the trigger_id is only good for 3 s, so nothing slow before it."""
    ack()
    ref = _ref(body)
    with context["services"].read() as w:
        view = desk.card_view(w.session, w.rules, ref.mention_id, now=w.now)
        templates = [t for t in w.rules.templates if not t.teams or view.team in t.teams]
    _open(client, body, blocks.draft_modal(view, templates, _limit(view.network)))


def on_reject(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    ref = _ref(body)
    with context["services"].read() as w:
        view = desk.card_view(w.session, w.rules, ref.mention_id, now=w.now)
    _open(client, body, blocks.reject_modal(view))


def on_approve(ack: Ack, body: dict, context: BoltContext) -> None:
    ack()
    with context["services"].work() as w:
        desk.approve(w.session, w.rules, w.directory, context["actor"], _ref(body), now=w.now)


def on_approve_edit(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    ack()
    ref = _ref(body)
    with context["services"].read() as w:
        view = desk.card_view(w.session, w.rules, ref.mention_id, now=w.now)
    _open(client, body, blocks.approve_edit_modal(view, _limit(view.network)))


CORRECTION_CHOICES = {Overflow.PRIORITY: PRIORITIES, Overflow.SENTIMENT: SENTIMENTS,
                      Overflow.AUTHOR_TYPE: tuple(t for t in AUTHOR_TYPES if t != "brand")}


def on_more(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """The overflow menu: dismiss at once; the others open a small modal."""
    ack()
    ref = _ref(body)
    choice = Overflow(ref.option)
    if choice is Overflow.DISMISS:
        with context["services"].work() as w:
            desk.dismiss(w.session, w.rules, w.directory, context["actor"], ref, now=w.now)
        return
    with context["services"].read() as w:
        view = desk.card_view(w.session, w.rules, ref.mention_id, now=w.now)
        teams = [(tid, t.label or tid) for tid, t in w.rules.teams.items() if tid != view.team]
    if choice is Overflow.REASSIGN:
        _open(client, body, blocks.reassign_modal(view, teams))
    else:
        _open(client, body, blocks.correct_modal(view, choice.value, CORRECTION_CHOICES[choice]))


def on_open_crisis(ack: Ack, body: dict, context: BoltContext) -> None:
    """A spike alert's "Open crisis thread": the first click opens it, later ones are told who."""
    ack()
    try:
        alert = AlertRef.decode(body["actions"][0].get("value") or "")
    except ValueError:
        raise NotAllowed("That button is not one of ours (or it is broken).") from None
    where = body.get("container") or {}
    with context["services"].work() as w:
        alerts.open_crisis(w.session, w.rules, context["actor"], alert.alert_id,
                           channel=where.get("channel_id"), ts=where.get("message_ts"), now=w.now)


def register(app: App) -> None:
    app.action(Action.CLAIM.value)(reported(_simple(desk.claim)))
    app.action(Action.UNCLAIM.value)(reported(_simple(desk.unclaim)))
    app.action(Action.SUBMIT.value)(reported(_simple(desk.submit)))
    app.action(Action.HANDLED_ELSEWHERE.value)(reported(_simple(desk.handled_elsewhere)))
    app.action(Action.SEND.value)(reported(on_send))
    app.action(Action.OUTCOME.value)(reported(on_outcome))
    app.action(Action.LIKE.value)(reported(on_amplify))
    app.action(Action.REPOST.value)(reported(on_amplify))
    app.action(Action.DRAFT.value)(reported(on_draft))
    app.action(Action.APPROVE.value)(reported(on_approve))
    app.action(Action.APPROVE_EDIT.value)(reported(on_approve_edit))
    app.action(Action.REJECT.value)(reported(on_reject))
    app.action(Action.MORE.value)(reported(on_more))
    app.action(Action.OPEN_CRISIS.value)(reported(on_open_crisis))
