"""`socialbot run --http` as a user starts it: migrates a fresh SQLite file, serves, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from tests.support.bot_process import free_port
from tests.support.offline_rules import offline_rules


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> int:
    """Poll until the process answers; a subprocess's start-up has no event to wait on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                return resp.status
        except OSError:
            threading.Event().wait(0.1)  # not listening yet
    raise AssertionError("never became healthy")


def wait_for_metric(url: str, line: str, proc: subprocess.Popen, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    body = ""
    while time.monotonic() < deadline and proc.poll() is None:
        with urllib.request.urlopen(url, timeout=2) as resp:
            body = resp.read().decode()
        if line in body:
            return body
        threading.Event().wait(0.1)  # the first poll is still running
    raise AssertionError(f"{line!r} never appeared in metrics:\n{body}")


def wait_for_log(path: Path, text: str, proc: subprocess.Popen, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for line in path.read_text().splitlines():
            if text in line:
                return line
        threading.Event().wait(0.1)
    raise AssertionError(f"{text!r} never logged:\n{path.read_text()}")


def test_run_migrates_serves_and_stops_on_sigterm(tmp_path, fake_slack):
    port = free_port()
    db = tmp_path / "fresh.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_", "DATABASE"))}
    env.update(SLACK_BOT_TOKEN="xoxb-proc", SLACK_SIGNING_SECRET="s", DATABASE_URL=f"sqlite:///{db}",
               SLACK_API_URL=fake_slack.api_url, SOCIALBOT_RULES=str(offline_rules(tmp_path)))
    log_path = tmp_path / "bot.log"
    log_file = log_path.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--http", str(port)], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=log_file, text=True)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}/healthz", proc) == 200
        tables = {r[0] for r in sqlite3.connect(db).execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"mention", "alembic_version"} <= tables
        # The first poll runs at start: the 20 Google Alerts entries become 20 mentions + cards.
        metrics = wait_for_metric(f"http://127.0.0.1:{port}/metrics",
                                  'socialbot_mentions_ingested_total{source="alerts"} 20.0', proc)
        assert "socialbot_outbox_depth" in metrics
        # News goes to the PR team's channel (rule "news and blogs"), as real cards.
        card = fake_slack.wait_for("chat.postMessage")
        assert card.params["channel"] == "C0PRESS0001"
        assert "blocks" in card.params and card.params.get("link_names") in (None, False)
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM outbox_message WHERE kind='card'"
                                ).fetchone() == (20,)
            assert conn.execute("SELECT count(*), count(DISTINCT external_id) FROM mention"
                                ).fetchone() == (20, 20)
            assert conn.execute("SELECT cursor IS NOT NULL FROM source").fetchone() == (1,)
        # A broken edit + SIGHUP: the bot logs where the file is wrong and keeps serving.
        rules_file = Path(env["SOCIALBOT_RULES"])
        good = rules_file.read_text()
        rules_file.write_text(good.replace("priority: P1", "priority: P9", 1))
        proc.send_signal(signal.SIGHUP)
        line = wait_for_log(log_path, "rules not reloaded", proc)
        assert f"{rules_file}:" in line and "priority: Input should be" in line
        assert wait_healthy(f"http://127.0.0.1:{port}/healthz", proc) == 200
        rules_file.write_text(good)
        proc.send_signal(signal.SIGHUP)
        wait_for_log(log_path, "rules reloaded from", proc)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        err = log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
        log_file.close()
    assert proc.returncode == 0, err
    assert "stopped" in err
    # INFO says what the bot did, and only that: per poll and per card; no scheduler chatter,
    # no Bolt warning that reads as if the token were ignored.
    assert "source alerts: 20 new, 0 duplicate(s)" in err
    assert "card posted: mention " in err  # the first ones; the rest are paced (1 per second)
    assert "apscheduler" not in err and "will be unused" not in err
