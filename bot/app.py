"""Composition root: Settings + Rules → database, Slack client, Bolt app, pollers, HTTP server.

The only module that imports `handlers` and wires real adapters together.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from sqlalchemy.exc import SQLAlchemyError

import handlers
from bot.config import SettingProblem, Settings
from bot.desk.directory import Directory
from bot.desk.send import reconcile
from bot.domain.outbox import OutboxTrouble
from bot.domain.rules.load import Rules, RulesError, load_rules
from bot.home.refresh import HomeRefresher, refresh_after_commit
from bot.kit import acks, liveness
from bot.kit.db import make_engine, make_session_factory, upgrade_to_head, utcnow
from bot.kit.housekeeping import prune
from bot.kit.http import health_app, make_http_server, wsgi_app
from bot.kit.leader import LeaderOnlyExecutor, make_leadership, migration_lock
from bot.kit.liveness import first_problem
from bot.kit.metrics import Metrics
from bot.kit.preflight import database_problem, first_line, redact
from bot.kit.scheduler import build_scheduler
from bot.kit.serving import HEALTH_THREADS
from bot.kit.webhooks import meta_webhook_app
from bot.listening.hints import deliver
from bot.listening.jobs import backfill_every, hurry, poll_job_id, schedule_polls
from bot.listening.polling import poll_source, reset_unhealthy
from bot.listening.registry import build_sources
from bot.networks.base import Source
from bot.networks.bluesky.client import build_bluesky_if_set
from bot.networks.guarded_http import abort_all
from bot.networks.publishers import build_publishers
from bot.outbox import OutboxSender, sender_client
from bot.reports.weekly import run_weekly_report
from bot.slack.binding import Workspace
from bot.slack.channels import ChannelNotFound, resolve_channels
from bot.slack.probe import slack_problems
from bot.slack.render import Renderer
from bot.slack.services import Services
from bot.timers.alerts import run_spikes
from bot.timers.sla import overdue_count, run_sla

log = logging.getLogger(__name__)
DEFAULT_HTTP_PORT = 3000
RECONCILE_EVERY_SECONDS = 60
HOUSEKEEPING_EVERY_SECONDS = 3600
SLA_EVERY_SECONDS = 30  # reminders land within 30 s of their time; P1 SLAs are minutes
SPIKE_EVERY_SECONDS = 60
WEEKLY_REPORT_EVERY_SECONDS = 300  # the weekly report goes out within 5 minutes of its time
# Bolt runs each listener in this pool and a click is acked only once its listener starts (the
# listener calls ack()), so Bolt's default of 5 threads queues the acks of concurrent clicks
# behind the database work of the first five (bench/desk.py, 50 concurrent Claim clicks on a
# loaded 2-CPU box: p99 ack 560-1150 ms with 5 threads, 300-420 ms with 64). The listeners
# still share the database pool: they wait there, after their ack.
LISTENER_THREADS = 64


def prestarted_pool(size: int, name: str) -> ThreadPoolExecutor:
    """A thread pool whose `size` threads are all started now, not on the first burst.

    ThreadPoolExecutor starts a thread per submit while none is idle, and `Thread.start()`
    waits until the new thread has run: in a burst of 50 clicks each start waited for the
    interpreter lock behind the other requests and the first clicks' database work, so the
    listeners (and their acks) of the first burst after a start came 130 ms later at the
    median, 225 ms at worst (bench/desk.py: ack p99 322 ms; 119 ms with the threads started).
    Idle threads cost a stack each and nothing else; the pool never stops them."""
    pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
    started = threading.Barrier(size + 1)
    for _ in range(size):  # none returns before all run: each submit must start a thread
        pool.submit(started.wait, 10)
    started.wait(10)
    return pool


def build_app(settings: Settings, services: Services, *, token_verification: bool = True) -> App:
    """The Bolt app with every listener registered. Raises `MissingSetting` naming the token."""
    token = settings.secret("SLACK_BOT_TOKEN")
    signing_secret = (settings.secret("SLACK_SIGNING_SECRET")
                      if not settings.is_set("SLACK_APP_TOKEN") else
                      (settings.SLACK_SIGNING_SECRET.get_secret_value()
                       if settings.SLACK_SIGNING_SECRET else None))
    client = WebClient(token=token, base_url=settings.SLACK_API_URL)
    app = App(signing_secret=signing_secret, client=client,  # the token is the client's
              token_verification_enabled=token_verification,
              listener_executor=prestarted_pool(LISTENER_THREADS, "bolt-listener"),
              # Socket Mode has no signature; HTTP mode must verify (kept on).
              request_verification_enabled=signing_secret is not None)
    app.logger.setLevel(logging.getLogger().level)
    handlers.register(app, services)
    return app


class Runtime:
    """The long-lived parts of `socialbot run` besides the Bolt app: the database, pollers,
    the outbox sender, the publishers, metrics, and the `Services` the listeners use."""

    def __init__(self, settings: Settings, rules: Rules, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        acks.share_turns()  # Slack waits 3 s for an ack; our own threads must not make it wait
        token = settings.secret("SLACK_BOT_TOKEN")
        self.channels_client = WebClient(
            token=token, base_url=settings.SLACK_API_URL,
            retry_handlers=[ConnectionErrorRetryHandler(),
                            RateLimitErrorRetryHandler(max_retry_count=2)])  # Tier 2 method
        # Before anything reads the rules: cards, reports and reconciliation need channel ids.
        # Raises ChannelNotFound (`socialbot run` ends with it, exit 2).
        rules = resolve_channels(rules, self.channels_client, logger=log)
        self.settings, self.rules, self.clock = settings, rules, clock
        self.engine = make_engine(settings.DATABASE_URL)
        self.factory = make_session_factory(self.engine)
        self.metrics = Metrics()
        self.scheduler = build_scheduler()
        # Every scheduler job (polls, timers, reports…) runs only on the replica that leads;
        # a job that must run everywhere is added with executor="every_replica".
        self.leader = make_leadership(settings.DATABASE_URL, on_change=self._leadership_changed)
        self.scheduler.add_executor(LeaderOnlyExecutor(lambda: self.leader.is_leader), "default")
        self.scheduler.add_executor("threadpool", "every_replica")
        self.directory = Directory(WebClient(token=token, base_url=settings.SLACK_API_URL))
        # One Bluesky login for its sources and its publisher: createSession is rate-limited.
        self.bluesky = build_bluesky_if_set(settings)
        self.publishers = build_publishers(settings, rules.brand, bluesky=self.bluesky)
        self.sender = OutboxSender(
            self.factory, sender_client(token, settings.SLACK_API_URL),
            Renderer(lambda: self.rules, self.directory, clock), clock,
            on_error=self.metrics.slack_error)
        self.metrics.watch_outbox(self.sender.depth,
                                  lambda: self.sender.oldest_pending_age(self.clock()),
                                  trouble=lambda: self.sender.trouble(self.clock()),
                                  clock=lambda: self.clock())
        self.metrics.watch(overdue=lambda: self._overdue(), leading=lambda: self.leader.is_leader)
        # App Homes refreshed after the desk changes that concern them, in their own thread.
        self.homes = HomeRefresher(self.factory, lambda: self.rules, self.directory,
                                   sender_client(token, settings.SLACK_API_URL), clock)
        refresh_after_commit(self.factory, self.homes)
        self.services = Services(self.factory, lambda: self.rules, self.directory, clock,
                                 self.publishers, wake_outbox=self.sender.wake,
                                 homes=self.homes,
                                 workspace=Workspace(WebClient(token=token,
                                                               base_url=settings.SLACK_API_URL)))
        self.homes.gate = self.services.gate.entered
        self.sources: list[Source] = []
        # Meta's webhooks (HTTP mode): deliveries only hint which objects to read.
        self.meta_webhook = meta_webhook_app(
            settings.secret("META_APP_SECRET"), settings.secret("META_WEBHOOK_VERIFY_TOKEN"),
            self.meta_delivery) if settings.is_set("META_APP_SECRET") and settings.is_set(
                "META_WEBHOOK_VERIFY_TOKEN") else None
        # /healthz: the SLA job (every 30 s) is the leader's heartbeat; Socket Mode sets
        # `slack_connected` to its client's (HTTP mode has no connection to lose).
        self.jobs = liveness.Heartbeat("sla")
        self.slack_connected: Callable[[], bool] = lambda: True

    def _overdue(self) -> int:
        with self.factory() as s:
            return overdue_count(s, self.clock())

    def healthy(self) -> tuple[bool, str]:
        """`/healthz`: (ok, body). 503 with the first reason of bot.kit.liveness."""
        problem = first_problem([
            lambda: liveness.database_problem(self.engine),
            lambda: None if self.scheduler.running else "scheduler stopped",
            lambda: self.jobs.late(self.clock()) if self.leader.is_leader else None,
            lambda: None if self.slack_connected() else "Slack Socket Mode connection down",
            lambda: liveness.outbox_problem(self.sender.oldest_pending_age(self.clock())),
            lambda: liveness.parked_problem(self._trouble(), self.clock()),
        ])
        if problem:
            return False, problem
        note = liveness.failed_note(self._trouble(), self.clock())
        return True, ("ok (leader)" if self.leader.is_leader else "ok (follower)") + note

    def _trouble(self) -> OutboxTrouble:
        try:
            return self.sender.trouble(self.clock())
        except SQLAlchemyError:  # the database check above says why; health stays an answer
            return OutboxTrouble()

    def poll(self, source: Source) -> None:
        """The scheduler's job: one poll, never raising into APScheduler's thread."""
        try:
            outcome = poll_source(self.factory, source, self.rules, clock=self.clock,
                                  on_outcome=self.metrics.record_poll)
        except Exception:  # a bug in an adapter must not stop the other sources
            log.exception("source %s: poll failed", source.spec.id)
            return
        if outcome.new or outcome.threaded:
            # New cards and follow-ups go out now, not at the sender's next tick: a follow-up
            # reaches the card's thread within the poll plus the outbox's pace.
            self.sender.wake()
        if outcome.gap_open:  # a storm's backlog: read it as fast as the network allows
            hurry(self.scheduler, source.spec.id, self.clock() + backfill_every(source))

    def reconcile(self) -> None:
        """Settle replies whose outcome a crash or a timeout left unknown."""
        try:
            reconcile(self.factory, self.publishers, self.clock(), rules=self.rules,
                      directory=self.directory)
        except Exception:
            log.exception("reconciling replies failed")

    def sla_tick(self) -> None:
        """SLA reminders and escalations due now (bot.timers.sla)."""
        self.jobs.beat(self.clock())
        try:
            run = run_sla(self.factory, self.rules, self.clock())
        except Exception:
            log.exception("SLA job failed")
            return
        if run.reminders or run.escalations:
            self.sender.wake()

    def housekeeping_tick(self) -> None:
        """Delete processed event ids and outbox rows whose job is done (bot.kit.housekeeping)."""
        try:
            prune(self.factory, self.clock())
        except Exception:
            log.exception("housekeeping failed")

    def spike_tick(self) -> None:
        """Raise or update a crisis alert when mentions spike (bot.timers.alerts)."""
        try:
            run = run_spikes(self.factory, self.rules, self.clock())
        except Exception:
            log.exception("spike job failed")
            return
        if run.alert_id is not None:
            self.sender.wake()

    def weekly_report_tick(self) -> None:
        """Queue the weekly executive report when its time has come (bot.reports.weekly)."""
        try:
            queued = run_weekly_report(self.factory, self.rules, self.clock())
        except Exception:
            log.exception("weekly report job failed")
            return
        if queued:
            self.sender.wake()

    def schedule_sources(self) -> None:
        built = build_sources(self.rules, self.settings, bluesky=self.bluesky)
        self.sources = built.sources  # the webhook's hints go to these
        for source_id, why in built.skipped.items():
            log.warning("source %s skipped: %s", source_id, why)
        schedule_polls(self.scheduler, built.sources, self.poll, now=self.clock())
        log.info("polling %d source(s): %s", len(built.sources),
                 ", ".join(s.spec.id for s in built.sources) or "none")

    def poll_now(self, source_id: str) -> None:
        """Move `source_id`'s next poll to now (the scheduler's job runs it)."""
        job = self.scheduler.get_job(poll_job_id(source_id))
        if job is not None:
            job.modify(next_run_time=self.clock())

    def meta_delivery(self, payload: object) -> None:
        """A signed delivery from Meta: hints to the sources, their polls moved to now."""
        deliver(payload, list(self.sources), self.poll_now)

    def _leadership_changed(self, leading: bool) -> None:
        """Taking over: poll now rather than at each source's next tick (a source waiting
        on a 429 or a backoff still waits: that is stored on the source, not in memory)."""
        if leading:
            self.jobs.start(self.clock())  # a new leader's jobs are late from now on, not before
        if leading and self.scheduler.running:
            for job in self.scheduler.get_jobs():
                if job.id.startswith("poll:"):
                    job.modify(next_run_time=self.clock())

    def start(self) -> None:
        self.jobs.start(self.clock())
        self.leader.start()  # first check now: the scheduler starts knowing who leads
        self.schedule_sources()
        self.scheduler.add_job(self.reconcile, "interval", seconds=RECONCILE_EVERY_SECONDS,
                               id="reconcile", replace_existing=True)
        self.scheduler.add_job(self.sla_tick, "interval", seconds=SLA_EVERY_SECONDS,
                               id="sla", replace_existing=True)
        self.scheduler.add_job(self.spike_tick, "interval", seconds=SPIKE_EVERY_SECONDS,
                               id="spikes", replace_existing=True)
        self.scheduler.add_job(self.housekeeping_tick, "interval",
                               seconds=HOUSEKEEPING_EVERY_SECONDS, id="housekeeping",
                               replace_existing=True)
        self.scheduler.add_job(self.weekly_report_tick, "interval",
                               seconds=WEEKLY_REPORT_EVERY_SECONDS, id="weekly-report",
                               replace_existing=True)
        self.scheduler.start()
        self.sender.start()
        self.homes.start()

    def reload_rules(self, path: str | Path) -> bool:
        """Swap in the rules at `path`; a broken file, or a `#name` channel Slack doesn't
        list, keeps the last good rules running."""
        try:
            rules = load_rules(path)
        except RulesError as exc:
            for problem in exc.problems:
                log.error("rules not reloaded, keeping the last good ones: %s", problem)
            return False
        try:
            rules = resolve_channels(rules, self.channels_client, logger=log)
        except ChannelNotFound as exc:
            log.error("rules not reloaded, keeping the last good ones: %s: %s", path, exc)
            return False
        self.rules = rules
        revived = reset_unhealthy(self.factory)
        self.schedule_sources()
        resumed = self.sender.resume(self.clock())  # a channel fixed, the bot invited…
        log.info("rules reloaded from %s (%d parked source(s) retried, %d parked Slack "
                 "message(s) queued again)", path, revived, resumed)
        return True

    def stop(self) -> None:
        self.homes.stop()
        self.sender.stop()
        # A poll waiting on a slow network would hold the shutdown below: end its request now
        # (the poll fails like a timeout, stores nothing, and the next start repeats it).
        aborted = abort_all()
        if aborted:
            log.info("stopping: %d network request(s) in flight abandoned", aborted)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)  # the poll in flight finishes and stores
        self.leader.stop()  # after the last job: another replica may take over at once
        self.engine.dispose()


def serve(settings: Settings, rules: Rules, *, http_port: int | None,
          rules_path: str | None = None) -> int:
    """Run until SIGTERM/SIGINT: Socket Mode when SLACK_APP_TOKEN is set and no port is given,
    else HTTP on `http_port` (default 3000, Bolt's). SIGHUP reloads the rules file.

    Raises `SettingProblem` (a token or secret missing, of the wrong kind or refused by Slack;
    Slack or the database out of reach) and `ChannelNotFound` (a `#name` channel in the rules
    is not one Slack lists to the bot) before serving anything: one line naming the setting."""
    socket_mode = http_port is None and settings.is_set("SLACK_APP_TOKEN")
    problems = [*settings.slack_setting_problems(http=http_port is not None),
                *settings.value_problems()]
    http_port = http_port or DEFAULT_HTTP_PORT
    problems = problems or slack_problems(settings, socket_mode=socket_mode)
    problem = problems[0] if problems else database_problem(settings.DATABASE_URL)
    if problem:
        raise SettingProblem(problem)
    # Migrating here makes `socialbot run` the whole set-up on a fresh machine; replicas
    # starting together take turns (PostgreSQL advisory lock).
    try:
        with migration_lock(settings.DATABASE_URL):
            upgrade_to_head(settings.DATABASE_URL)
    except SQLAlchemyError as exc:
        raise SettingProblem(f"DATABASE_URL: cannot migrate {redact(settings.DATABASE_URL)}: "
                             f"{first_line(exc)}") from None
    runtime = Runtime(settings, rules)
    app = build_app(settings, runtime.services)
    wake = threading.Event()
    wanted = {"stop": False, "reload": False}

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %s", signal.Signals(signum).name)
        wanted["reload" if signum == getattr(signal, "SIGHUP", None) else "stop"] = True
        wake.set()

    for name in ("SIGTERM", "SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), on_signal)

    server = None
    if not socket_mode:
        # Listening before the runtime starts: its sender may post a card at once, and a click
        # on it must find the server (waitress starts its 64 threads here, which took ~1 s
        # while the first poll held the interpreter lock).
        server = make_http_server(wsgi_app(app, runtime.healthy, runtime.metrics.registry,
                                           on_ack=runtime.metrics.slack_ack_seconds.observe,
                                           meta_webhook=runtime.meta_webhook,
                                           signing_secret=settings.secret(
                                               "SLACK_SIGNING_SECRET")),
                                  "0.0.0.0", http_port)
        threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
        log.info("serving Slack on http://0.0.0.0:%s/slack/events", http_port)
    acks.collect_less()  # set up: what exists now lives as long as the process
    runtime.start()
    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(app, settings.secret("SLACK_APP_TOKEN"))
        runtime.slack_connected = handler.client.is_connected
        try:
            handler.connect()
        except Exception as exc:  # refused token, no network: say so, and stop what started
            runtime.stop()
            raise SettingProblem(f"SLACK_APP_TOKEN: cannot open the Socket Mode connection "
                                 f"({type(exc).__name__}: {first_line(exc)}); is Socket Mode on in the "
                                 "app's settings, and may this machine reach wss://*.slack.com?"
                                 ) from None
        log.info("connected to Slack in Socket Mode")
        close = handler.close
        if settings.SOCIALBOT_HEALTH_PORT:  # /healthz and /metrics only, for the container
            health = make_http_server(health_app(runtime.healthy, runtime.metrics.registry),
                                      "0.0.0.0", settings.SOCIALBOT_HEALTH_PORT,
                                      threads=HEALTH_THREADS)
            threading.Thread(target=health.serve_forever, name="health", daemon=True).start()
            log.info("serving /healthz and /metrics on port %s", settings.SOCIALBOT_HEALTH_PORT)

            def close() -> None:
                handler.close()
                health.shutdown()
    else:
        assert server is not None

        def close() -> None:
            server.shutdown()

    while not wanted["stop"]:
        wake.wait()
        wake.clear()
        if wanted["reload"] and not wanted["stop"]:
            wanted["reload"] = False
            runtime.reload_rules(rules_path or settings.SOCIALBOT_RULES)
    close()
    runtime.stop()
    log.info("stopped")
    return 0
