"""Start-up and `check` failures as a new user meets them: one line naming the setting and
the fix, exit 2, never a traceback — Slack and the database asked for real (a fake Slack on
127.0.0.1, a closed port, a bad URL)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.cli import clean_env, run
from tests.support.fake_slack import FakeSlack
from tests.support.paths import ROOT

RULES = str(ROOT / "routing_rules.yaml")
CLOSED = "http://127.0.0.1:9/api/"  # the discard port: nothing listens there


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    clean_env(monkeypatch, tmp_path)


@pytest.fixture
def slack(monkeypatch):
    fake = FakeSlack().start()
    monkeypatch.setenv("SLACK_API_URL", fake.api_url)
    yield fake
    fake.stop()


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_bogus_log_level_is_one_line_even_under_check(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "bogus")
    code, _, err = run("check", "--offline", "--rules", RULES)
    assert code == 2
    assert one_line(err) == ("LOG_LEVEL: 'bogus' is not a log level; use one of DEBUG, INFO, "
                             "WARNING, ERROR, CRITICAL")


@pytest.mark.parametrize(("url", "says"), [
    ("nonsense", "DATABASE_URL: cannot parse 'nonsense'; use sqlite:///"),
    ("mysql://u@localhost/db", "DATABASE_URL: mysql is not supported; use sqlite:///"),
    ("postgresql+psycopg://nobody@127.0.0.1:9/none",
     "DATABASE_URL: cannot reach postgresql+psycopg://nobody@127.0.0.1:9/none: "),
])
def test_check_connects_to_the_database(monkeypatch, url, says):
    monkeypatch.setenv("DATABASE_URL", url)
    code, _, err = run("check", "--rules", RULES)
    assert code == 2
    assert one_line(err).startswith(says)


def test_run_with_a_bad_database_is_one_line(monkeypatch, slack):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    code, _, err = run("run", "--http", "0", "--rules", RULES)
    assert code == 2
    assert one_line(err).startswith("cannot start: DATABASE_URL: cannot reach ")


def test_a_user_token_as_bot_token_is_named(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-123-456")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A")
    for command in (["check", "--offline"], ["run"]):
        code, _, err = run(*command, "--rules", RULES)
        assert code == 2
        assert "SLACK_BOT_TOKEN: is a user token (xoxp-…); use xoxb-… — the Bot User OAuth " \
               "Token" in one_line(err)
        assert "123-456" not in err


def test_an_env_typo_asks_did_you_mean(tmp_path):
    (tmp_path / ".env").write_text("# ours\nSLACK_BOT_TOKN=xoxb-1\nOTHER_TOOL=1\n")
    (tmp_path / ".env").chmod(0o600)
    code, _, err = run("check", "--offline", "--rules", RULES)
    assert code == 2
    assert one_line(err) == (".env:2: SLACK_BOT_TOKN is not a socialbot setting; "
                             "did you mean SLACK_BOT_TOKEN?")
    code, _, err = run("run", "--rules", RULES)
    assert (code, one_line(err)) == (2, "cannot start: .env:2: SLACK_BOT_TOKN is not a "
                                        "socialbot setting; did you mean SLACK_BOT_TOKEN?")


def test_socket_mode_users_are_pointed_at_the_app_token(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    code, _, err = run("run", "--rules", RULES)
    assert code == 2
    line = one_line(err)
    assert line.startswith("cannot start: SLACK_APP_TOKEN is not set (environment or .env): "
                           "Socket Mode, the manifest's default")
    assert "SLACK_SIGNING_SECRET and run with --http" in line


def test_partial_x_keys_ask_for_the_rest_and_reply_is_reported(monkeypatch):
    monkeypatch.setenv("X_API_KEY", "k")
    code, out, _ = run("check", "--offline", "--rules", RULES)
    assert code == 0
    assert ("source x-mentions (x_mentions): not ready, missing X_API_SECRET, X_ACCESS_TOKEN, "
            "X_ACCESS_TOKEN_SECRET") in out
    monkeypatch.delenv("X_API_KEY")
    monkeypatch.setenv("X_BEARER_TOKEN", "b")
    code, out, _ = run("check", "--offline", "--rules", RULES)
    assert "source x-mentions (x_mentions): ready" in out
    assert ("replies on x: not possible, missing X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN, "
            "X_ACCESS_TOKEN_SECRET") in out
    assert "replies on rss" not in out  # no reply channel


def test_a_mastodon_base_url_that_is_not_a_url(monkeypatch):
    monkeypatch.setenv("MASTODON_API_BASE_URL", "notaurl")
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "t")
    code, _, err = run("check", "--offline", "--rules", RULES)
    assert code == 2
    assert one_line(err).startswith("MASTODON_API_BASE_URL: 'notaurl' is not a URL")


def test_check_asks_slack_and_says_it_accepts_the_tokens(monkeypatch, slack):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    code, out, err = run("check", "--rules", RULES)
    assert code == 0, err
    assert "slack (Socket Mode): ready — Slack accepts the tokens" in out
    assert [c.method for c in slack.calls] == ["auth.test", "apps.connections.open"]


@pytest.mark.parametrize("command", [["check"], ["run"]])
def test_a_bot_token_slack_refuses(monkeypatch, slack, command):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    slack.fail("auth.test", status=200, error="invalid_auth")
    code, _, err = run(*command, "--rules", RULES)
    assert code == 2
    assert one_line(err).endswith(
        "SLACK_BOT_TOKEN: Slack does not know this token (invalid_auth); copy the Bot User "
        "OAuth Token (xoxb-…) again from the app's OAuth & Permissions page, reinstalling the "
        "app if it was removed")


def test_an_app_token_slack_refuses(monkeypatch, slack):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    slack.fail("apps.connections.open", status=200, error="invalid_auth")
    code, _, err = run("run", "--rules", RULES)
    assert code == 2
    assert one_line(err).startswith("cannot start: SLACK_APP_TOKEN: Slack does not know this "
                                    "token (invalid_auth); create an app-level token")


@pytest.mark.parametrize("command", [["check"], ["run"]])
def test_unreachable_slack_is_one_line(monkeypatch, command):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    monkeypatch.setenv("SLACK_API_URL", CLOSED)
    code, _, err = run(*command, "--rules", RULES)
    assert code == 2
    assert f"SLACK_API_URL: cannot reach {CLOSED} (" in one_line(err)


def test_check_offline_asks_nobody(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    monkeypatch.setenv("SLACK_API_URL", CLOSED)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    code, out, err = run("check", "--offline", "--rules", RULES)
    assert code == 0, err
    assert "slack (Socket Mode): not checked: --offline" in out


@pytest.mark.parametrize("url", ["nonsense", None])
def test_report_with_a_bad_or_missing_database_is_one_line_and_creates_nothing(
        monkeypatch, tmp_path, url):
    if url:
        monkeypatch.setenv("DATABASE_URL", url)
    code, _, err = run("report", "--rules", RULES)
    assert code == 2
    assert one_line(err).startswith("DATABASE_URL: ")
    assert list(tmp_path.iterdir()) == []  # no stray socialbot.db


def test_the_real_command_prints_one_line_when_slack_is_out_of_reach(tmp_path):
    """As a user runs it: a process of its own, logging configured, slack_sdk's own logs too."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "SLACK_API_URL": CLOSED}
    done = subprocess.run([sys.executable, "-m", "bot", "run", "--rules", RULES], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert one_line(done.stderr).startswith(f"cannot start: SLACK_API_URL: cannot reach {CLOSED}")
    assert list(tmp_path.iterdir()) == []  # no socialbot.db either
