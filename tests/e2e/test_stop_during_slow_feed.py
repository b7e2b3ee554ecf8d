"""`SIGTERM` while a poll reads a slow-loris feed (one byte every 5 s): the bot stopped only
on SIGKILL (issue 18, break 7). Now it abandons the request and exits within 10 s."""

from __future__ import annotations

import signal
import time

import yaml

from tests.support.bot_process import Bot, wait_until
from tests.support.paths import ROOT
from tests.support.slow_feed import SlowFeed


def test_sigterm_stops_the_bot_within_10_s_while_a_feed_trickles(tmp_path, fake_slack):
    slow = SlowFeed(interval=5.0)
    rules = yaml.safe_load((ROOT / "routing_rules.yaml").read_text())
    rules["sources"] = [{"id": "slow", "type": "rss", "url": slow.url, "every": "1h",
                         "allow_private": True}]  # the slow feed is on 127.0.0.1
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules, sort_keys=False))
    bot = Bot(tmp_path, "slow", database_url=f"sqlite:///{tmp_path / 'bot.db'}", rules=path,
              slack_url=fake_slack.api_url)
    try:
        wait_until(slow.requested.is_set, bot, "the first poll of the slow feed")
        time.sleep(1)  # it is reading the body now, a byte every 5 s
        started = time.monotonic()
        bot.proc.send_signal(signal.SIGTERM)
        code = bot.proc.wait(timeout=15)
        took = time.monotonic() - started
        assert code == 0, bot.log_text()[-3000:]
        assert took < 10, (took, bot.log_text()[-3000:])
        assert "network request(s) in flight abandoned" in bot.log_text()
    finally:
        bot.cleanup()
        slow.stop()
