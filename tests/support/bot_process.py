"""`socialbot run --http PORT` as a subprocess, for the tests that kill it: `Bot` starts one
(its stderr in a log file, credentials and database from the test), `wait_until` polls a check
while watching the process (a subprocess gives no event to wait on)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SIGNING_SECRET = "crash"  # the bot verifies Slack's requests with it


class Bot:
    """One `socialbot run --http` process, its stderr in a log file; `more_env`: more variables
    (a network's credentials)."""

    def __init__(self, tmp_path: Path, name: str, *, database_url: str, rules: Path,
                 slack_url: str, more_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log = tmp_path / f"{name}.log"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "X_", "DATABASE", "MASTODON_", "BLUESKY_",
                                    "GOOGLE_PLAY_", "META_", "THREADS_", "APP_STORE_",
                                    "REDDIT_", "YOUTUBE_"))}
        env.update(SLACK_BOT_TOKEN="xoxb-crash", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                   SLACK_API_URL=slack_url, DATABASE_URL=database_url,
                   SOCIALBOT_RULES=str(rules), **(more_env or {}))
        with self.log.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--http", str(self.port)], cwd=tmp_path,
                env=env, stdout=subprocess.DEVNULL, stderr=err)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=10) == -signal.SIGKILL

    def metrics(self) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as r:
                return r.read().decode()
        except OSError:
            return ""  # not listening yet

    def cleanup(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)


def wait_until(check: Callable[[], object], bot: Bot, what: str, timeout: float = 60.0):
    """`check()`'s first truthy value; a subprocess gives no event to wait on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if not bot.alive():
            raise AssertionError(f"bot exited ({bot.proc.returncode}) before {what}:\n"
                                 f"{bot.log_text()[-3000:]}")
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}:\n{bot.log_text()[-3000:]}")
