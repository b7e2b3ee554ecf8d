"""`OutboxSender`: takes queued Slack posts from the database and sends them, most urgent
first, within Slack's rate limits, at most once each.

One round (`run_once(now)`):
1. verify rows left in `sending` whose lease ran out (crash, or a call with unknown outcome);
2. housekeeping: collapse updates, unfold worked mentions, fold flooded channels into digests;
3. pick the due rows, P1 first across the whole queue, as many per scope as it has tokens;
4. claim them (`sending`, committed), then call Slack one by one and record each outcome.

Nothing is given up while it matters: a 5xx or a lost connection is retried with capped
backoff for as long as the row's mention is open (other rows: a day), and an error no retry can
heal (the bot not in the channel, a revoked token) parks the rows it concerns, named, until
`resume()` (SIGHUP, start) or a probe finds the cause fixed: `bot.outbox.parking`.

Exactly one card per mention: the claim is committed before the call, the ts is recorded in
the transaction that marks the row sent (with `mention.slack_channel/slack_ts`), and every
post carries Slack message metadata naming its outbox row. A row found in `sending` without
an owner is looked up in the channel by that metadata — found: its ts is recorded; not found:
it is queued again. A post is never repeated on a guess.

Row kinds and the Slack call they make:
    card      chat.postMessage to `channel`, binds the mention to the message
    digest    chat.postMessage to `channel` (payload `mention_ids`: the folded mentions)
    alert     chat.postMessage to `channel`
    thread    chat.postMessage in the mention's card thread (waits for the card)
    update    chat.update of the mention's card (waits for the card)
    dm        conversations.open(users=`channel`) then chat.postMessage to the IM
    ephemeral chat.postEphemeral to `channel` for payload `user`
    file      files_upload_v2 to `channel`, or into the thread of the row named by payload
              `thread_of` (waits for its ts); payload `filename` finds it again
The message content comes from the injected `render(session, row) -> kwargs` (text, blocks…;
for a file: file, filename, title).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.outbox import OutboxKind, OutboxTrouble
from bot.domain.workflow import OPEN_STATUSES
from bot.kit.db import session_scope, utcnow
from bot.kit.models import Mention, OutboxMessage
from bot.kit.worker import BackgroundWorker
from bot.outbox import parking, queue
from bot.outbox.errors import (
    HINTS,
    SLACK_CALL_ERRORS,
    Outcome,
    Permanent,
    RateLimited,
    Transient,
    classify,
    error_code,
)
from bot.outbox.pacing import (
    PACING_HEADROOM,
    PER_CHANNEL_BURST,
    PER_CHANNEL_RATE,
    Pacer,
    scope_of,
)
from bot.outbox.slack import POSTED_KINDS, Job, SlackPoster, Unverifiable
from bot.outbox.tuning import (
    DIGEST_EVERY,
    DIGEST_THRESHOLD,
    ERROR_PAUSE_SECONDS,
    FILE_SHARE_DELAY,
    FOLDABLE_PRIORITIES,
    IDLE_POLL_SECONDS,
    LEASE,
    MAX_ATTEMPTS,
    MAX_BATCH,
    RECONCILE_BATCH,
    RETRY_FOR,
    VERIFY_RETRY,
    backoff,
    probe_wait,
)

log = logging.getLogger(__name__)

Render = Callable[[Session, OutboxMessage], dict[str, Any]]

MIN_WAIT_SECONDS = 0.005  # never spin when a token is due "now" after float rounding


class OutboxSender(BackgroundWorker):
    """Sends the outbox. `run_once(now)` for tests and schedulers; `start()`/`stop()` run it in
    a background thread that `wake()` nudges when something was queued.

    `client` must have no retry handlers (`WebClient(..., retry_handlers=[])`): this class
    retries itself, per row, without blocking other channels; slack-sdk's connection-error
    retry would repeat a `chat.postMessage` whose answer was lost (a second card), and its
    rate-limit retry sleeps in this thread, holding a P1 of another channel behind a 429.

    `single_process` (default: True on SQLite, which can't serve several replicas) lets
    `start()` verify every `sending` row at once: they can only be this process's own, left by
    a crash. On PostgreSQL another replica may be mid-call on a row, so only rows whose lease
    ran out (`LEASE`) are verified.
    """

    thread_name = "outbox-sender"

    def __init__(self, factory: sessionmaker[Session], client: WebClient, render: Render,
                 clock: Callable[[], datetime] = utcnow, *,
                 per_channel_rate: float = PER_CHANNEL_RATE, burst: int = PER_CHANNEL_BURST,
                 headroom: float = PACING_HEADROOM,
                 digest_threshold: int | None = DIGEST_THRESHOLD,
                 digest_every: timedelta = DIGEST_EVERY,
                 foldable_priorities: tuple[str, ...] = FOLDABLE_PRIORITIES,
                 max_attempts: int = MAX_ATTEMPTS, single_process: bool | None = None,
                 on_error: Callable[[str], None] | None = None) -> None:
        if client.retry_handlers:
            raise ValueError(
                "OutboxSender needs a WebClient without retry handlers "
                "(WebClient(..., retry_handlers=[]), see bot.outbox.sender_client): it retries "
                "by itself, and slack-sdk's retries could post a card twice or sleep in the "
                "sender's thread")
        self.factory, self.client, self.render, self.clock = factory, client, render, clock
        self.on_error = on_error  # told each failed Slack call's error code (metrics)
        self.slack = SlackPoster(client)
        self.pacer = Pacer(per_channel_rate, burst, headroom)
        self.digest_threshold, self.digest_every = digest_threshold, digest_every
        self.foldable_priorities, self.max_attempts = foldable_priorities, max_attempts
        if single_process is None:
            with factory() as s:
                single_process = s.get_bind().dialect.name == "sqlite"
        self.single_process = single_process
        self._round = threading.Lock()  # one round at a time in this process
        super().__init__()
        self._next_due: datetime | None = None
        self._reported: set[tuple[str, str]] = set()
        # scopes parked in this round → their error and next probe
        self._parked_now: dict[str, tuple[str, datetime]] = {}
        # parked scopes → the wait before their next probe (doubling while Slack refuses)
        self._probe_every: dict[str, timedelta] = {}

    # --- one round -------------------------------------------------------------------------

    def run_once(self, now: datetime) -> int:
        """Send what may be sent at `now`; returns how many messages reached Slack."""
        with self._round:
            self._wake.clear()  # from here on, a wake() means "something new was queued"
            self._parked_now.clear()
            self._next_due = now + timedelta(seconds=IDLE_POLL_SECONDS)
            self._verify_unowned(now, everything=False)
            held = self._housekeeping(now)
            return self._send_round(now, held)

    def _send_round(self, now: datetime, held: set[str]) -> int:
        t = now.timestamp()
        with self.factory() as s:
            cands = queue.candidates(s, now, held=held, held_priorities=self.foldable_priorities,
                                     per_scope=self.pacer.max_burst)
        budget: dict[str, int] = {}
        picked: list[int] = []
        scopes: dict[int, str] = {}
        for c in cands:  # most urgent first across all channels
            scope = scope_of(c.kind, c.channel)
            if scope not in budget:
                budget[scope] = self.pacer.available(scope, t)
            if budget[scope] < 1:  # this channel waits for a token; the others go on
                self._due_in(now, self.pacer.seconds_until(scope, t))
                continue
            budget[scope] -= 1
            picked.append(c.id)
            scopes[c.id] = scope
            if len(picked) >= MAX_BATCH:
                self._due_in(now, 0)
                break
        with session_scope(self.factory) as s:
            claimed = queue.claim(s, picked, now + LEASE)
        order = [i for i in picked if i in claimed]  # others were taken by another replica
        sent = 0
        for n, row_id in enumerate(order):
            if n and self._wake.is_set():
                # Something was queued during this round and may be more urgent than the rest
                # of the batch: a P1 waits only for the post in flight, not for the batch.
                self._release(order[n:], now)
                break
            # The token is taken when the call is made, not when the round started: the
            # queries before it take a variable while, and Slack counts arrivals.
            at = max(t, self.clock().timestamp())
            if not self.pacer.take(scopes[row_id], at):  # a 429 earlier in this round
                blocked = self.pacer.blocked_for(scopes[row_id], at)
                self._release([row_id], now + timedelta(seconds=blocked))
                continue
            sent += self._deliver(row_id, now)
        with self.factory() as s:
            due = queue.next_due(s, now)
        if due is not None:
            self._due(due)
        return sent

    def _release(self, ids: list[int], not_before: datetime) -> None:
        with session_scope(self.factory) as s:
            queue.release(s, ids, not_before)
        self._due(not_before)

    def _housekeeping(self, now: datetime) -> set[str]:
        """Collapse, unfold, fail orphans, fold floods. Returns the flooded channels whose
        next digest is not due yet: their foldable cards are held for it."""
        with session_scope(self.factory) as s:
            collapsed = queue.collapse_updates(s)
            unfolded = queue.unfold_worked(s, now)
            orphaned = queue.fail_orphans(s)
            probed = parking.probe(s, now)
            parked = parking.park_followers(s)
        if probed:
            log.info("outbox: probing parked %s: is it fixed? (one call each)",
                     ", ".join(probed))
            self._due(now)  # rows posted before are verified at the next round
        if collapsed or unfolded or orphaned or parked:
            log.info("outbox: %d update(s) collapsed, %d folded card(s) requeued, "
                     "%d orphan(s) failed, %d parked with their channel", collapsed, unfolded,
                     orphaned, parked)
        held: set[str] = set()
        if self.digest_threshold is None:
            return held
        with self.factory() as s:
            flooded = queue.flooded_channels(s, self.digest_threshold, self.foldable_priorities)
        for channel in flooded:
            with self.factory() as s:
                last = queue.last_digest_at(s, channel)
            if last is not None and now - last < self.digest_every:
                held.add(channel)
                self._due(last + self.digest_every)
                continue
            window = int(now.timestamp() // self.digest_every.total_seconds())
            try:
                with session_scope(self.factory) as s:
                    folded = queue.fold(s, channel, now, threshold=self.digest_threshold,
                                        priorities=self.foldable_priorities,
                                        dedupe_key=f"digest:{channel}:{window}")
            except IntegrityError:  # another replica folded this channel's window first
                held.add(channel)
                continue
            if folded is not None:
                digest, n = folded
                log.info("outbox: channel %s flooded, %d card(s) folded into digest %d",
                         channel, n, digest.id)
        return held

    # --- one row ---------------------------------------------------------------------------

    def _load(self, s: Session, row_id: int) -> tuple[OutboxMessage, Job] | None:
        row = s.get(OutboxMessage, row_id)
        if row is None or row.state != "sending":
            return None  # deleted with its mention, or settled by someone else
        mention = s.get(Mention, row.mention_id) if row.mention_id is not None else None
        payload = dict(row.payload or {})
        if row.kind == OutboxKind.FILE and payload.get(queue.THREAD_OF):
            target = queue.thread_parent(s, str(payload[queue.THREAD_OF]))
        elif mention is None:
            # An update or thread reply about no mention (a crisis alert) names its message.
            target = (payload.get("target_channel"), payload.get("target_ts"))
        else:
            target = (mention.slack_channel, mention.slack_ts)
        return row, Job(row.id, row.kind, row.channel, row.priority, payload,
                        row.attempts, row.created_at, row.error, row.mention_id, *target,
                        mention_open=mention is not None and mention.status in OPEN_STATUSES)

    def _deliver(self, row_id: int, now: datetime) -> int:
        with self.factory() as s:  # read-only: closed (rolled back) before the Slack call
            loaded = self._load(s, row_id)
            if loaded is None:
                return 0
            row, job = loaded
            problem: str | None
            try:
                content = dict(self.render(s, row))
            except Exception as exc:  # a renderer bug fails its row, not the sender
                log.exception("outbox %d (%s): render failed", job.id, job.kind)
                content, problem = {}, f"render failed: {type(exc).__name__}: {exc}"
            else:
                problem = None
        if problem is None and job.kind in queue.NEEDS_CARD and not job.card_ts:
            problem = f"a {job.kind} needs a mention with a posted card"
        if problem is None and job.payload.get(queue.THREAD_OF) and not job.card_ts:
            problem = f"its thread's message ({job.payload[queue.THREAD_OF]}) is not posted"
        if problem is not None:
            self._settle(job.id, state="failed", error=problem)
            return 0
        if self._held_in_round(job):
            return 0
        try:
            channel, ts = self.slack.send(job, content)
        except SLACK_CALL_ERRORS as exc:
            self._failed(job, classify(exc), now)
            return 0
        self._mark_sent(job.id, channel, ts, now)
        self._accepted(job)
        return 1

    def _held_in_round(self, job: Job) -> bool:
        """Parked with its scope, without a call, when claimed in this round before the scope
        was parked (a probe's other rows, a burst's)."""
        held = next(((scope, parked) for scope, parked in self._parked_now.items()
                     if parking.covers(scope, job.kind, job.channel)), None)
        if held is None:
            return False
        scope, (error, probe_at) = held
        with session_scope(self.factory) as s:
            parking.park(s, job.id, scope, error, probe_at)
        return True

    def _accepted(self, job: Job) -> None:
        """Slack took a row: the scopes it belongs to are not refused (a probe succeeded)."""
        for scope in (job.channel, parking.ALL, parking.KIND_PREFIX + job.kind):
            self._probe_every.pop(scope, None)

    def _failed(self, job: Job, outcome: Outcome, now: datetime) -> None:
        if self.on_error is not None:
            self.on_error(error_code(outcome))
        if isinstance(outcome, RateLimited):
            # Not a failure: the scope is blocked until Retry-After, in memory for this
            # process and on the scope's pending rows for a restart and the other replicas.
            until = now + timedelta(seconds=outcome.retry_after)
            self.pacer.block(job.scope, until.timestamp(), now.timestamp())
            with session_scope(self.factory) as s:
                queue.set_state(s, job.id, state="pending", not_before=until,
                                error=outcome.message)
                queue.defer_scope(s, job.scope, until)
            self._due(until)
            log.info("outbox %d: %s is %s", job.id, job.scope, outcome.message)
        elif isinstance(outcome, Transient):
            attempts = job.attempts + 1
            retry_at = now + backoff(attempts)
            if job.kind == OutboxKind.FILE:  # its message may appear late: look for it no sooner
                retry_at = max(retry_at, now + FILE_SHARE_DELAY)
            if job.kind in POSTED_KINDS:
                # The message may be in the channel (answer lost, 5xx after the write): stay
                # `sending` until `retry_at`, then verification decides: found → sent, not
                # found → queued again (or failed after max_attempts).
                values: dict[str, Any] = {"state": "sending", "not_before": retry_at}
            elif not self._keeps_trying(job, attempts, now):
                values = {"state": "failed"}
            else:
                values = {"state": "pending", "not_before": retry_at}
            with session_scope(self.factory) as s:
                queue.set_state(s, job.id, attempts=attempts, error=outcome.message, **values)
            self._due(retry_at)
            log.warning("outbox %d (%s to %s): attempt %d failed: %s", job.id, job.kind,
                        job.channel, attempts, outcome.message)
        else:
            self._refused(job, outcome)

    def _keeps_trying(self, job: Job, attempts: int, now: datetime) -> bool:
        """Whether a row that failed `attempts` times for a passing reason is tried again."""
        if job.kind == OutboxKind.EPHEMERAL:  # a note seen minutes late helps nobody
            return attempts < self.max_attempts
        return job.mention_open or now - job.created_at < RETRY_FOR

    def _refused(self, job: Job, outcome: Permanent, *, unverified: bool = False) -> None:
        """Slack refused the row for good: park it with its scope when the cause is one a
        person can fix (bot.outbox.parking), else fail it. `unverified`: its earlier post may
        be in Slack, so it is counted as attempted (looked up before any re-post)."""
        scope = parking.scope_of_error(outcome, job.kind, job.channel)
        if scope is None:
            error = f"outcome unknown, can't check: {outcome.message}" if unverified else \
                outcome.message
            self._settle(job.id, state="failed", error=error)
            self._report_once(job, outcome)
            return
        wait = self._probe_every[scope] = probe_wait(self._probe_every.get(scope))
        probe_at = self.clock() + wait
        with session_scope(self.factory) as s:
            if unverified:
                queue.set_state(s, job.id, attempts=max(1, job.attempts))
            n = parking.park(s, job.id, scope, outcome.message, probe_at)
        self._parked_now[scope] = (outcome.message, probe_at)
        self._due(probe_at)
        self._report_once(job, outcome, parked=n)

    def _report_once(self, job: Job, outcome: Permanent, *, parked: int = 0) -> None:
        """One clear log line per scope and error, not one per queued row."""
        key = (job.scope, outcome.code)
        verb = f"parked ({parked} message(s) wait)" if parked else "failed"
        if key in self._reported:
            log.info("outbox %d: %s: %s", job.id, verb, outcome.message)
            return
        self._reported.add(key)
        hint = HINTS.get(outcome.code, "not retried; the error is kept on the row")
        log.error("outbox: %s to %s %s: %s — %s", job.kind, job.channel, verb,
                  outcome.message, hint)

    def _settle(self, row_id: int, **values: Any) -> None:
        with session_scope(self.factory) as s:
            queue.set_state(s, row_id, **values)

    def _mark_sent(self, row_id: int, channel: str | None, ts: str | None,
                   now: datetime) -> None:
        """Sent, with its ts, and for a card the mention's binding: one transaction.

        A card always binds: a mention has at most one unsent card row at a time (one per
        mention at ingest, one more per reassignment once the first is posted), so the card
        just posted is the mention's current card."""
        with session_scope(self.factory) as s:
            row = s.get(OutboxMessage, row_id)
            if row is None:
                return
            row.state, row.slack_ts, row.sent_at, row.error = "sent", ts, now, None
            mention = s.get(Mention, row.mention_id) if row.mention_id is not None else None
            if row.kind == OutboxKind.CARD and mention is not None:
                if mention.slack_ts not in (None, ts):
                    log.info("outbox %d: mention %d moves from card %s/%s to %s/%s", row_id,
                             mention.id, mention.slack_channel, mention.slack_ts, channel, ts)
                mention.slack_channel, mention.slack_ts = channel, ts
                log.info("card posted: mention %d (%s) to %s", mention.id, mention.priority,
                         channel)

    # --- verification (exactly once after a crash or an unknown outcome) -------------------

    def reconcile(self, now: datetime, *, everything: bool = False) -> int:
        """Settle `sending` rows nobody owns: look for each in Slack by its metadata.
        `everything`: all `sending` rows, not only expired leases (single process at start)."""
        with self._round:
            return self._verify_unowned(now, everything=everything)

    def _verify_unowned(self, now: datetime, *, everything: bool) -> int:
        with session_scope(self.factory) as s:
            ids = queue.take_unverified(s, now, now + LEASE, everything=everything,
                                        limit=RECONCILE_BATCH)
        for row_id in ids:
            self._verify(row_id, now)
        if len(ids) == RECONCILE_BATCH:
            self._due_in(now, 0)
        return len(ids)

    def _verify(self, row_id: int, now: datetime) -> None:
        with self.factory() as s:
            loaded = self._load(s, row_id)
        if loaded is None:
            return
        job = loaded[1]
        # No shortcut on `mention.slack_ts` for a card: after a reassignment it names the
        # previous card. Only the metadata says whether *this* row's message exists.
        if job.kind == OutboxKind.EPHEMERAL:  # can't be looked up; a late duplicate helps nobody
            self._settle(job.id, state="failed",
                         error="outcome unknown: ephemeral messages can't be looked up")
            return
        if self._held_in_round(job):  # its channel refused a look in this round already
            return
        found = None
        if job.kind in POSTED_KINDS:
            try:
                found = self.slack.find_posted(job)
            except Unverifiable as exc:
                self._settle(job.id, state="failed", error=f"outcome unknown: {exc}")
                log.error("outbox %d: %s; check %s by hand", job.id, exc, job.channel)
                return
            except SLACK_CALL_ERRORS as exc:
                outcome = classify(exc)
                if isinstance(outcome, Permanent):
                    self._refused(job, outcome, unverified=True)
                    return
                wait = (timedelta(seconds=outcome.retry_after)
                        if isinstance(outcome, RateLimited) else VERIFY_RETRY)
                with session_scope(self.factory) as s:  # still ours to check: extend the lease
                    queue.set_state(s, job.id, not_before=now + wait)
                self._due(now + wait)
                log.warning("outbox %d: could not verify yet: %s", job.id, outcome.message)
                return
        if found is not None:
            log.info("outbox %d: already in Slack (ts %s), recorded, not posted again",
                     job.id, found[1])
            self._mark_sent(job.id, found[0], found[1], now)
            self._accepted(job)
        elif not self._keeps_trying(job, job.attempts, now):
            self._settle(job.id, state="failed", error=job.error or "failed")
        else:  # not in Slack: post it (update rows land here directly: chat.update is idempotent)
            self._settle(job.id, state="pending", not_before=now)
            self._due(now)

    # --- the background loop ---------------------------------------------------------------

    def _due(self, when: datetime) -> None:
        if self._next_due is None or when < self._next_due:
            self._next_due = when

    def _due_in(self, now: datetime, seconds: float) -> None:
        self._due(now + timedelta(seconds=seconds))

    def seconds_until_due(self) -> float:
        """How long the loop may sleep: until a token, a backoff, a lease or a digest is due."""
        if self._next_due is None:
            return 0.0
        wait = (self._next_due - self.clock()).total_seconds()
        return min(IDLE_POLL_SECONDS, max(MIN_WAIT_SECONDS, wait))

    def wake(self) -> None:
        """Something was queued: send it now rather than at the next poll."""
        self._wake.set()

    def resume(self, now: datetime) -> int:
        """Parked rows back in the queue: their cause was fixed (rules reloaded, restart).
        Those posted before are looked up first, so none is posted twice."""
        with self._round, session_scope(self.factory) as s:
            n = parking.resume(s, now)
        self._reported.clear()  # the same error again deserves its ERROR line again
        self._probe_every.clear()  # a person fixed something: probes start over
        if n:
            log.info("outbox: %d parked message(s) queued again", n)
            self.wake()
        return n

    def _loop(self) -> None:
        try:
            self.resume(self.clock())  # a restart is how a token is fixed
        except Exception:
            log.exception("outbox: resuming parked messages at start failed")
        try:
            n = self.reconcile(self.clock(), everything=self.single_process)
            if n:
                log.info("outbox: verified %d row(s) left in sending", n)
        except Exception:  # the loop below retries verification with every round
            log.exception("outbox: verification at start failed")
        while not self._stop.is_set():
            try:
                sent = self.run_once(self.clock())
                wait = 0.0 if sent else self.seconds_until_due()
            except Exception:
                log.exception("outbox: round failed; retrying in %ss", ERROR_PAUSE_SECONDS)
                wait = ERROR_PAUSE_SECONDS
            if wait > 0:
                self._wake.wait(wait)  # not sleep(): wake() and stop() cut it short

    # --- metrics ---------------------------------------------------------------------------

    def depth(self) -> int:
        """Messages not yet in Slack (pending or being sent)."""
        with self.factory() as s:
            return queue.depth(s)

    def trouble(self, now: datetime) -> OutboxTrouble:
        """Parked rows with their fix, and rows failed for good lately (status, healthz)."""
        with self.factory() as s:
            return parking.trouble(s, now)

    def oldest_pending_age(self, now: datetime) -> float:
        """Seconds the oldest unsent message has waited; 0 when the outbox is empty."""
        with self.factory() as s:
            oldest = queue.oldest_open(s)
        return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
