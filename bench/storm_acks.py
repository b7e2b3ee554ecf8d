"""Claim clicks acked while a storm ingests, for `bench/storm.py --clicks N`.

The real runtime's Bolt app behind the real HTTP server (waitress, `bot.kit.serving`), in the
storm's process and on its database, as a `socialbot run --http` replica serves clicks while
it polls and sends: the storm's ingest, its senders and the acks share one interpreter lock.
The runtime is built but not started — the storm's replicas poll and send, on the simulated
clock the runtime's `Services` share — so nothing here posts on its own.

Bursts of N signed Claim clicks (N users, N stored P4 mentions still `new`), fired together
from a child process by `bench/desk.py`'s `fire`, one burst at a time, in a thread of its own
while the storm's rounds go on. Each figure is one click's HTTP round trip, until the ack.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import func, select

from bench.desk import ROOT, claim_click, fire, percentile
from bot.app import Runtime, build_app
from bot.config import Settings
from bot.domain.rules.load import load_rules
from bot.domain.workflow import MentionStatus
from bot.kit.http import make_http_server, wsgi_app
from bot.kit.models import AuditEvent, Mention
from tests.support.bot_server import SIGNING_SECRET, BotServer


@dataclass
class Acks:
    ms: list[float] = field(default_factory=list)
    failed: int = 0  # not answered 200
    bursts: int = 0
    clicked: list[int] = field(default_factory=list)  # mention ids
    slowest: list[float] = field(default_factory=list)  # each burst's slowest ack, in order
    windows: list[tuple[float, float]] = field(default_factory=list)  # each burst's clicks

    def summary(self) -> str:
        if len(self.ms) < 2:
            return "no clicks"
        return (f"{len(self.ms)} clicks in {self.bursts} bursts: p50 "
                f"{percentile(self.ms, 0.50):.0f} ms, p99 {percentile(self.ms, 0.99):.0f} ms, "
                f"max {max(self.ms):.0f} ms, not 200 {self.failed}; each burst's slowest: "
                + ", ".join(f"{m:.0f}" for m in self.slowest) + " ms")


class StormClicks:
    """The bot's HTTP endpoint on the storm's database, and bursts of Claim clicks at it."""

    def __init__(self, url: str, slack_url: str, clock, tmp: Path, size: int) -> None:
        data = yaml.safe_load((ROOT / "routing_rules.yaml").read_text())
        data["sources"] = []  # the storm's own source polls; the runtime is never started
        rules_path = tmp / "click_rules.yaml"
        rules_path.write_text(yaml.safe_dump(data, sort_keys=False))
        settings = Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-storm",
                            SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack_url + "api/",
                            DATABASE_URL=url)
        self.runtime = Runtime(settings, load_rules(rules_path), clock=clock)
        logging.getLogger("slack_bolt.App").addFilter(
            lambda r: "will be unused" not in r.getMessage())
        app = build_app(settings, self.runtime.services)
        self.server = make_http_server(wsgi_app(app, self.runtime.healthy,
                                                self.runtime.metrics.registry,
                                                signing_secret=SIGNING_SECRET), "127.0.0.1", 0)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.bot = BotServer(f"http://127.0.0.1:{self.server.server_address[1]}", self.runtime)
        self.respond = slack_url + "respond/T111/1/x"
        self.size, self.acks = size, Acks()
        self._burst: threading.Thread | None = None
        self._lock = threading.Lock()
        self.stopped = False
        self.warm = False  # the warm-up click was fired

    def busy(self) -> bool:
        return self._burst is not None and self._burst.is_alive()

    def burst(self) -> bool:
        """Fire one burst at stored P4 mentions nobody has clicked (False: too few yet, or
        one is still in flight). The bodies are built here; the burst runs in its thread."""
        if self.busy():
            return False
        with self.runtime.factory() as s:
            ids = list(s.scalars(select(Mention.id).where(
                Mention.priority == "P4", Mention.status == MentionStatus.NEW,
                Mention.id.not_in(self.acks.clicked or [0])).order_by(Mention.id.desc())
                .limit(self.size + (0 if self.warm else 1))))
        if len(ids) < self.size + (0 if self.warm else 1):
            return False
        n = self.acks.bursts
        bodies = [claim_click(self.runtime, mid, f"U0STORM{n:02d}{i:03d}", self.respond)
                  for i, mid in enumerate(ids)]
        # One click before the first burst, not counted, as bench/desk.py does: Bolt's first
        # request (auth.test, imports, connections) is a start-up cost, not a storm's; a bot
        # that serves a storm has served clicks before it (238 ms of the first burst's tail).
        warm, bodies = (None, bodies) if self.warm else (bodies[0], bodies[1:])
        self.warm = True
        self.acks.clicked.extend(ids)
        self.acks.bursts += 1
        self._burst = threading.Thread(target=self._fire, args=(bodies, warm), daemon=True)
        self._burst.start()
        return True

    def _fire(self, bodies: list[str], warm: str | None) -> None:
        if warm is not None:
            fire(self.bot, [warm])
        fired = fire(self.bot, bodies)
        with self._lock:
            self.acks.ms.extend(fired.ms)
            self.acks.slowest.append(max(fired.ms))
            self.acks.windows.append(fired.window)
            self.acks.failed += fired.failed

    def claims(self) -> int:
        """Claims applied (audited) on the clicked mentions."""
        with self.runtime.factory() as s:
            return s.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "claim",
                AuditEvent.mention_id.in_(self.acks.clicked or [0]))) or 0

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self._burst is not None:
            self._burst.join(60)
        # The claims are applied after their acks (bot.kit.acks): give them a moment.
        deadline = time.monotonic() + 30
        while self.claims() < len(self.acks.clicked) - self.acks.failed and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        self.server.shutdown()
        self.server.server_close()
        self.runtime.engine.dispose()
