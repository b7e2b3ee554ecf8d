"""Ack first (`bot.kit.acks`): Slack requests count as waiting from arrival until their answer
starts, in the WSGI app, and a unit of work (`Services.work`) waits for them before it starts."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from prometheus_client import CollectorRegistry
from slack_bolt import App
from slack_bolt.authorization import AuthorizeResult

from bot.kit.acks import Acks
from bot.kit.db import make_session_factory
from bot.kit.http import wsgi_app
from bot.slack.services import Services

SECRET = "acks-secret"


def test_a_request_waits_from_arrival_until_answered_once():
    acks = Acks()
    first, second = acks.arrived(), acks.arrived()
    assert acks.pending == 2 and not acks.wait_answered(timeout=0)
    first()
    first()  # the answer and a `finally` both say so: counted once
    assert acks.pending == 1
    second()
    assert acks.pending == 0 and acks.wait_answered(timeout=0)


def test_a_waiter_goes_on_when_the_last_request_is_answered():
    acks = Acks(max_wait=60)
    answered = acks.arrived()
    done = threading.Event()
    waiter = threading.Thread(target=lambda: (acks.wait_answered(), done.set()))
    waiter.start()
    assert not done.wait(0.05)  # max_wait is a minute: only the answer lets it go
    answered()
    waiter.join(5)
    assert done.is_set()


def test_work_starts_only_once_the_requests_are_answered_and_nested_work_does_not_wait(
        engine):
    acks = Acks(max_wait=60)
    services = Services(make_session_factory(engine), lambda: None, None, lambda: datetime.now(UTC),  # type: ignore[arg-type]
                        acks=acks)
    answered = acks.arrived()
    inside = threading.Event()

    def work() -> None:
        with services.work():
            inside.set()
            later = acks.arrived()  # a request arriving now does not hold the nested work
            with services.work():
                pass
            later()

    worker = threading.Thread(target=work)
    worker.start()
    assert not inside.wait(0.05)
    answered()
    worker.join(5)
    assert inside.is_set() and acks.pending == 0


def _environ(body: str, *, secret: str = SECRET) -> dict[str, Any]:
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(),
                           hashlib.sha256).hexdigest()
    raw = body.encode()
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "QUERY_STRING": "",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw),
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": ts, "HTTP_X_SLACK_SIGNATURE": sig}


def test_the_http_layer_counts_a_slack_request_until_its_ack():
    acks = Acks()
    seen: list[int] = []
    app = App(signing_secret=SECRET, process_before_response=True,  # no auth.test: no Slack
              authorize=lambda **_: AuthorizeResult(enterprise_id=None, team_id="T1",
                                                    bot_token="xoxb-acks", bot_user_id="UB"))

    @app.action("claim")
    def claim(ack, body) -> None:
        seen.append(acks.pending)  # before its ack: still waiting
        ack()

    application = wsgi_app(app, lambda: (True, "ok"), CollectorRegistry(),
                           signing_secret=SECRET, acks=acks)
    payload = {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"},
               "api_app_id": "A1", "trigger_id": "t", "container": {"type": "message"},
               "actions": [{"action_id": "claim", "block_id": "b", "type": "button",
                            "value": "x"}]}
    body = urlencode({"payload": json.dumps(payload)})
    status: list[str] = []
    b"".join(application(_environ(body), lambda s, h, *e: status.append(s)))
    assert status == ["200 OK"] and seen == [1] and acks.pending == 0
    # refused before Bolt (bad signature): answered too
    b"".join(application(_environ(body, secret="forged"), lambda s, h, *e: status.append(s)))
    assert status[-1] == "401 Unauthorized" and acks.pending == 0


def test_collect_less_freezes_what_start_up_built_and_lets_young_objects_pile_up():
    """In a child interpreter: the collector's settings are the whole process's."""
    code = """
import gc, weakref
from bot.kit.acks import YOUNG_COLLECTION_EVERY, collect_less
class Node: pass
built = Node(); built.me = built                          # a cycle start-up left behind
gc.collect(); collect_less()
assert gc.get_freeze_count() > 1000, gc.get_freeze_count()  # the modules and `built` among them
before = gc.get_count()[0]
kept = [[] for _ in range(5_000)]                         # 5,000 tracked containers
assert gc.get_count()[0] - before >= 5_000, gc.get_count()  # no young collection yet
later = Node(); later.me = later; gone = weakref.ref(later); del later
gc.collect()
assert gone() is None                                     # garbage made after it is still freed
print(YOUNG_COLLECTION_EVERY)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 5_000
