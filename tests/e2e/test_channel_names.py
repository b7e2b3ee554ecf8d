"""`#name` channels in the rules file: resolved to ids with `conversations.list` when the runtime
starts (cards go to the id), refused with one line when Slack doesn't list them, and on a
SIGHUP reload a name that can't be resolved keeps the last good rules."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.app import Runtime
from bot.config import Settings
from bot.domain.rules.load import load_rules
from bot.kit.db import upgrade_to_head
from bot.slack.channels import ChannelNotFound
from tests.support.offline_rules import offline_rules

WORKSPACE = [
    {"id": "C0GENERAL01", "name": "general"},
    {"id": "C0RANDOM001", "name": "random"},
    {"id": "C0OLDPRESS1", "name": "press-2019", "is_archived": True},
    {"id": "G0PRESSDESK", "name": "press-desk", "is_private": True},
    {"id": "C0EXECS0001", "name": "execs"},
]


def rules_file(tmp_path: Path, pr_channel: str, name: str = "named.yaml") -> Path:
    path = offline_rules(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["teams"]["pr"]["channel"] = pr_channel
    data["alerts"]["spike"]["channel"] = pr_channel
    out = tmp_path / name
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


@pytest.fixture
def settings(fake_slack, tmp_path) -> Settings:
    url = f"sqlite:///{tmp_path / 'names.db'}"
    upgrade_to_head(url)
    return Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-e2e", SLACK_SIGNING_SECRET="s",
                    SLACK_API_URL=fake_slack.api_url, DATABASE_URL=url)


def test_cards_go_to_the_id_of_a_named_channel(fake_slack, settings, tmp_path, caplog):
    fake_slack.channels = WORKSPACE
    fake_slack.list_page_size = 2  # the name is on the second page
    with caplog.at_level(logging.INFO, logger="bot.app"):
        runtime = Runtime(settings, load_rules(rules_file(tmp_path, "#press-desk")))
    try:
        listing = fake_slack.calls_to("conversations.list")
        assert len(listing) == 2 and listing[1].params["cursor"] == "2"
        assert listing[0].params["types"] == "public_channel,private_channel"
        assert runtime.rules.teams["pr"].channel == "G0PRESSDESK"
        assert runtime.rules.alerts.spike.channel == "G0PRESSDESK"
        assert any("#press-desk → G0PRESSDESK" in r.getMessage() for r in caplog.records)
        # The first poll turns the 20 news entries into cards for the PR team.
        runtime.start()
        card = fake_slack.wait_for("chat.postMessage", timeout=15)
        assert card.params["channel"] == "G0PRESSDESK"
        assert "blocks" in card.params
    finally:
        runtime.stop()
    assert all(not str(c.params.get("channel", "")).startswith("#") for c in fake_slack.calls)


def test_ids_only_rules_make_no_listing(fake_slack, settings, tmp_path):
    runtime = Runtime(settings, load_rules(offline_rules(tmp_path)))
    runtime.stop()
    assert fake_slack.calls_to("conversations.list") == []


def test_an_unknown_name_at_start_is_refused(fake_slack, settings, tmp_path):
    fake_slack.channels = WORKSPACE
    with pytest.raises(ChannelNotFound, match=r"teams\.pr\.channel: #press-2019 not found"):
        Runtime(settings, load_rules(rules_file(tmp_path, "#press-2019")))  # archived


def test_a_reload_with_an_unknown_name_keeps_the_last_good_rules(fake_slack, settings, tmp_path,
                                                                caplog):
    fake_slack.channels = WORKSPACE
    runtime = Runtime(settings, load_rules(rules_file(tmp_path, "#press-desk")))
    try:
        good = runtime.rules
        with caplog.at_level(logging.ERROR, logger="bot.app"):
            assert runtime.reload_rules(rules_file(tmp_path, "#nowhere", "bad.yaml")) is False
        assert runtime.rules is good
        assert any("rules not reloaded" in r.getMessage()
                   and "teams.pr.channel: #nowhere not found" in r.getMessage()
                   for r in caplog.records)
        fake_slack.fail("conversations.list", status=200, error="missing_scope")
        assert runtime.reload_rules(rules_file(tmp_path, "#execs", "scope.yaml")) is False
        assert runtime.rules is good
        assert runtime.reload_rules(rules_file(tmp_path, "#execs", "ok.yaml")) is True
        assert runtime.rules.teams["pr"].channel == "C0EXECS0001"
    finally:
        runtime.stop()


def test_socialbot_run_ends_with_one_line_and_exit_2(fake_slack, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "X_", "DATABASE"))}
    env.update(SLACK_BOT_TOKEN="xoxb-proc", SLACK_SIGNING_SECRET="s", LOG_LEVEL="WARNING",
               DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}", SLACK_API_URL=fake_slack.api_url,
               SOCIALBOT_RULES=str(rules_file(tmp_path, "#social-press")))
    proc = subprocess.run([sys.executable, "-m", "bot", "run", "--http", "0"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "cannot start: teams.pr.channel: #social-press not found (is the bot invited? private "
        "channels need it); alerts.spike.channel: #social-press not found (is the bot invited? "
        "private channels need it)"]
    assert fake_slack.calls_to("chat.postMessage") == []
