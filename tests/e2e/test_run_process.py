"""`socialbot run --http` as a user starts it: migrates a fresh SQLite file, serves, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> int:
    """Poll until the process answers; a subprocess's start-up has no event to wait on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited early: {proc.communicate()[1]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                return resp.status
        except OSError:
            threading.Event().wait(0.1)  # not listening yet
    raise AssertionError("never became healthy")


def test_run_migrates_serves_and_stops_on_sigterm(tmp_path, fake_slack):
    port = free_port()
    db = tmp_path / "fresh.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_", "DATABASE"))}
    env.update(SLACK_BOT_TOKEN="xoxb-proc", SLACK_SIGNING_SECRET="s", DATABASE_URL=f"sqlite:///{db}",
               SLACK_API_URL=fake_slack.api_url, SOCIALBOT_RULES=str(ROOT / "routing_rules.yaml"))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--http", str(port)], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}/healthz", proc) == 200
        tables = {r[0] for r in sqlite3.connect(db).execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"mention", "alembic_version"} <= tables
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in err
