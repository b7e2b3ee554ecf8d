"""What a Slack listener may use, injected by middleware (Netflix Dispatch style) and read
with `services_of(context)`: listeners import nothing else from `bot` but `bot.slack` and
`bot.domain.errors`.

`Services.act(Action.CLAIM, actor, ref)` runs one desk command (`COMMANDS`, keyed by the
Slack action or view id that triggers it) in a unit of work. `Services.work()` is that unit: a session, the current rules, the approver
directory and the time, committed on success, rolled back on a domain error; after a commit
the outbox sender is woken so the card updates within the second instead of at its next tick.
The few flows that span a network call (send, like/repost) are here too, so that listeners stay
a few lines and never hold a database transaction open across the network.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.desk import commands as desk
from bot.desk.amplify import AmplifyAction, amplify
from bot.desk.directory import Approvers
from bot.desk.moderate import set_hidden
from bot.desk.send import deliver, start_send
from bot.desk.work import Work
from bot.domain.card import CardView
from bot.domain.errors import NotAllowed, NotFound
from bot.domain.limits import NoReplyChannel, reply_limit, reply_problem
from bot.domain.rules.schema import Rules, Template
from bot.home.refresh import publish_view
from bot.kit import models
from bot.kit.acks import ACKS, Acks
from bot.kit.db import session_scope
from bot.networks.base import Publisher, PublishError
from bot.reports.service import ReportService
from bot.slack import binding
from bot.slack.binding import Click, Refusal, Workspace
from bot.slack.ids import Action, CardRef, Overflow, View
from bot.timers import alerts

if TYPE_CHECKING:
    from bot.home.refresh import HomeRefresher

log = logging.getLogger(__name__)


# The desk command each card button or modal runs: `command(work, actor, ref, *args)`.
Trigger = Action | Overflow | View  # what a click or a submission names

COMMANDS: dict[Trigger, Callable[..., object]] = {
    Action.CLAIM: desk.claim,
    Action.UNCLAIM: desk.unclaim,
    Action.SUBMIT: desk.submit,
    Action.APPROVE: desk.approve,
    Action.OUTCOME: desk.tag,
    Action.HANDLED_ELSEWHERE: desk.handled_elsewhere,
    Overflow.DISMISS: desk.dismiss,
    View.DRAFT: desk.save_draft,
    View.APPROVE_EDIT: desk.approve,
    View.REJECT: desk.reject,
    View.REASSIGN: desk.reassign,
    View.CORRECT: desk.correct,
}

AMPLIFY: dict[Action, AmplifyAction] = {Action.LIKE: "like", Action.REPOST: "repost"}

# What each correction may be set to (the overflow's correction modal).
CORRECTION_CHOICES: dict[Overflow, tuple[str, ...]] = {  # what the desk accepts, no more
    Overflow.PRIORITY: desk.CORRECTABLE["priority"],
    Overflow.SENTIMENT: desk.CORRECTABLE["sentiment"],
    Overflow.AUTHOR_TYPE: desk.CORRECTABLE["author_type"]}


@dataclass(frozen=True, slots=True)
class CardContext:
    """What a modal about a card shows: the card, the saved replies its team may use, the
    other teams (for reassigning) and the network's reply limit (None: no reply channel)."""

    view: CardView
    templates: tuple[Template, ...]
    teams: tuple[tuple[str, str], ...]
    limit: tuple[int, str] | None


# Units of work at once. Bolt runs every listener in its own thread (64: bot.app), and a click
# is acknowledged only when its listener starts; fifty listeners doing database work at once
# share one interpreter lock with the threads still reading the next clicks, so those clicks'
# acks wait (and SQLite takes one writer at a time anyway). Past this many, a listener waits
# here, idle, after its ack.
WORK_AT_ONCE = 4


class WorkGate:
    """A semaphore a thread takes once, however deeply its units of work nest."""

    def __init__(self, size: int) -> None:
        self._slots = threading.BoundedSemaphore(size)
        self._held = threading.local()

    def held(self) -> bool:
        """Whether this thread is already inside a unit of work."""
        return getattr(self._held, "depth", 0) > 0

    @contextmanager
    def entered(self) -> Iterator[None]:
        depth = getattr(self._held, "depth", 0)
        if depth == 0:
            self._slots.acquire()
        self._held.depth = depth + 1
        try:
            yield
        finally:
            self._held.depth = depth
            if depth == 0:
                self._slots.release()


@dataclass
class Services:
    factory: sessionmaker[Session]
    rules: Callable[[], Rules]  # a getter: SIGHUP swaps the rules under running listeners
    directory: Approvers
    clock: Callable[[], datetime]
    publishers: dict[str, Publisher] = field(default_factory=dict)
    wake_outbox: Callable[[], None] = lambda: None
    gate: WorkGate = field(default_factory=lambda: WorkGate(WORK_AT_ONCE))  # shared by copies
    # Keeps the App Home of the people a desk change concerns current (bot.home.refresh); None: not
    # kept (tests, tools), the Home is then published only when opened.
    homes: HomeRefresher | None = None
    # The workspace the bot serves (bot.slack.binding); None: requests are not bound to one
    # (tests and tools that build Services without Slack).
    workspace: Workspace | None = None
    # The card's button this request is (bot.slack.binding.clicked): its channel is checked in
    # the unit of work, after the ack. Set on a copy per request (`clicked_in`).
    click: Click | None = None
    # Slack requests not yet answered in this process (bot.kit.acks): a unit of work, always
    # after its own ack, lets them be answered first.
    acks: Acks = ACKS

    @contextmanager
    def work(self) -> Iterator[Work]:
        if not self.gate.held():  # an outer unit of work has waited already
            self.acks.wait_answered()
        with self.gate.entered(), self._work() as w:
            yield w
        self.wake_outbox()

    @contextmanager
    def read(self) -> Iterator[Work]:
        """A unit of work that only reads, past the gate: what a modal needs before its
        `trigger_id` expires (3 s) must not queue behind other clicks' writes."""
        with self._work() as w:
            yield w

    @contextmanager
    def _work(self) -> Iterator[Work]:
        session = self.factory()
        now = self.clock()
        rules = self.rules()
        if self.click is not None:  # the one read the binding needs, in this unit's session
            refusal = binding.channel_refusal(session, rules, self.click)
            if refusal is not None:
                session.close()
                self._audit(refusal)
                raise NotAllowed(refusal.text)
        try:
            yield Work(session, rules, self.directory, now)
            session.commit()
        except BaseException:
            session.rollback()
            refused = session.info.pop(desk.REFUSED, None)
            if refused is not None:  # audited in its own transaction: the work's is gone
                try:
                    desk.audit_refusal(session, refused, now)
                    session.commit()
                except Exception:  # the refusal itself still reaches the user
                    session.rollback()
                    log.exception("could not audit a refused action: %s", refused)
            raise
        finally:
            session.close()

    def refusal(self, body: dict) -> Refusal | None:
        """Why a request may not reach the desk at all (another workspace), audited; None
        when it may. Checked before the ack: no database read, `auth.test` asked once."""
        found = binding.workspace_refusal(self.workspace, body)
        if found is not None:
            self._audit(found)
        return found

    def clicked_in(self, body: dict) -> Services:
        """These services for one request: a card's button is then refused, in its unit of
        work, when clicked outside the card's channel."""
        click = binding.clicked(body)
        return self if click is None else replace(self, click=click)

    def _audit(self, refusal: Refusal) -> None:
        try:
            with session_scope(self.factory) as s:
                binding.audit(s, refusal, self.clock())
        except Exception:  # the refusal stands even if its audit row can't be written
            log.exception("could not audit a refused request: %s", refusal.reason)

    def act(self, command: Trigger, actor: str, ref: CardRef, *args: object,
            **kw: object) -> None:
        """The desk command `command` triggers, in a unit of work of its own."""
        with self.work() as w:
            COMMANDS[command](w, actor, ref, *args, **kw)

    def card(self, mention_id: int) -> CardContext:
        """A card as it stands, read past the gate: a modal must open within its trigger's 3 s."""
        with self.read() as w:
            view = desk.card_view(w.session, w.rules, mention_id, now=w.now)
            rules = w.rules
        templates = tuple(t for t in rules.templates if not t.teams or view.team in t.teams)
        teams = tuple((tid, t.label or tid) for tid, t in rules.teams.items() if tid != view.team)
        try:
            limit: tuple[int, str] | None = reply_limit(view.network)
        except NoReplyChannel:
            limit = None
        return CardContext(view, templates, teams, limit)

    def reply_problem(self, mention_id: int, text: str) -> str | None:
        """Why `text` can't be a reply to the mention (empty, too long), or None."""
        network, limit = self.reply_limit_of(mention_id)
        return reply_problem(network, text, limit)

    def open_crisis(self, actor: str, alert_id: int, *, channel: str | None,
                    ts: str | None) -> None:
        with self.work() as w:
            alerts.open_crisis(w.session, w.rules, actor, alert_id, channel=channel, ts=ts,
                               now=w.now)

    def home_of(self, user: str) -> dict:
        """The user's App Home view as it is now; from now on it is kept current."""
        with self.work() as w:
            view = publish_view(w.session, w.rules, w.directory, user, w.now)
        self.home_opened(user, w.now)
        return view

    def home_opened(self, user: str, at: datetime) -> None:
        """`user` opened the Home tab (published as of `at`): keep it current from now on,
        on every replica (the `home_viewer` row) and at once here."""
        if self.homes is None:
            return
        self.homes.opened(user, at)
        try:
            with session_scope(self.factory) as s:
                s.merge(models.HomeViewer(user_id=user, opened_at=at))
        except IntegrityError:  # another replica recorded the same user a moment ago
            pass

    @property
    def reports(self) -> ReportService:
        """`/social report|status|export`: figures, chart, CSV (bot.reports.service)."""
        return ReportService(self.factory, self.rules, self.clock)

    def _publisher(self, network: str) -> Publisher:
        publisher = self.publishers.get(network)
        if publisher is None:
            raise NotAllowed(f"Replies on {network} are not configured: set its credentials "
                             "(see `socialbot check`).")
        return publisher

    def send(self, actor: str, ref: CardRef) -> models.Reply:
        """Guard and record the intent (committed), then make the one network call."""
        with self.work() as w:
            mention, draft = desk.check_send(w, actor, ref)
            publisher = self._publisher(mention.network)
            reply_id = start_send(w.session, mention, draft, actor, w.now, rules=w.rules).id
        reply = deliver(self.factory, reply_id, publisher, self.clock(), rules=self.rules(),
                        directory=self.directory)
        self.wake_outbox()
        return reply

    def amplify(self, actor: str, ref: CardRef, button: Action) -> None:
        """Like or repost (the card's `Action.LIKE` / `Action.REPOST`), once, audited."""
        action = AMPLIFY[button]
        with self.work() as w:
            mention = w.session.get(models.Mention, ref.mention_id)
            if mention is None:
                raise NotFound()
            publisher = self._publisher(mention.network)
        try:
            amplify(self.factory, ref.mention_id, publisher, action, actor, self.clock())
        except PublishError as exc:
            raise NotAllowed(f"The {action} didn't go through: {exc.detail}") from None

    def moderate(self, actor: str, ref: CardRef, *, hidden: bool) -> None:
        """Hide or unhide a comment on the brand's own Page or media (the card's overflow),
        audited; the card is refreshed through the outbox."""
        with self.work() as w:
            mention = w.session.get(models.Mention, ref.mention_id)
            if mention is None:
                raise NotFound()
            publisher = self.publishers.get(mention.network)
        set_hidden(self.factory, ref.mention_id, publisher, hidden, actor, self.clock())
        self.wake_outbox()

    def draft_from_thread(self, *, channel: str, thread_ts: str, user: str, text: str) -> None:
        """A reply in a card's thread (Slack markup already made plain text)."""
        with self.work() as w:
            desk.draft_from_thread(w, user, channel=channel, thread_ts=thread_ts, text=text)

    def reply_limit_of(self, mention_id: int) -> tuple[str, tuple[int, str] | None]:
        """The mention's network and its reply length limit (None: no reply channel)."""
        with self.factory() as session:
            mention = session.get(models.Mention, mention_id)
            if mention is None:
                raise NotFound()
            network = mention.network
        try:
            return network, reply_limit(network)
        except NoReplyChannel:
            return network, None


def services_of(context: Mapping[str, Any]) -> Services:
    """The `Services` the middleware put in a listener's Bolt context."""
    services = context["services"]
    assert isinstance(services, Services), "handlers.middleware.inject was not registered"
    return services
