"""The `socialbot` command as a user meets it: clear messages, exit codes, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.cli import clean_env, run
from tests.support.paths import ROOT


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    clean_env(monkeypatch, tmp_path)


def test_check_shipped_rules_reports_sources_by_readiness(monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", "AAAA")
    code, out, err = run("check", "--rules", str(ROOT / "routing_rules.yaml"))
    assert code == 0, err
    assert "source x-mentions (x_mentions): ready" in out
    assert "source google-alerts (rss): ready" in out
    assert ("source mastodon (mastodon_mentions): not ready, missing MASTODON_API_BASE_URL, "
            "MASTODON_ACCESS_TOKEN") in out
    assert ("slack (Socket Mode): not ready, missing SLACK_BOT_TOKEN, SLACK_APP_TOKEN "
            "(or, for HTTP mode, SLACK_SIGNING_SECRET)") in out
    assert "AAAA" not in out + err


def test_check_architecture_example():
    code, out, err = run("check", "--rules", str(ROOT / "tests/data/architecture_example.yaml"))
    assert code == 0, err
    assert "3 teams, 4 rules, 5 sources" in out


def test_check_uses_socialbot_rules_env(monkeypatch, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nbrand: {name: A}\nteams:\n  s: {channel: C01}\n"
                   "default_team: s\nrules:\n  - {name: r, when: {lang: en}, then: {team: x}}\n")
    monkeypatch.setenv("SOCIALBOT_RULES", str(bad))
    code, out, err = run("check")
    assert (code, out) == (2, "")
    assert err.strip() == f"{bad}:7: rules[0].then.team: unknown team 'x' (teams: s)"
    assert "Traceback" not in err


def test_check_warns_about_world_readable_env(tmp_path):
    env = tmp_path / ".env"
    env.write_text("SLACK_BOT_TOKEN=xoxb-secret\n")
    env.chmod(0o644)
    code, out, _ = run("check", "--rules", str(ROOT / "routing_rules.yaml"))
    assert code == 0
    assert "chmod 600 .env" in out and "xoxb-secret" not in out
    env.chmod(0o600)
    assert "chmod 600" not in run("check", "--rules", str(ROOT / "routing_rules.yaml"))[1]


def test_run_without_token_names_the_missing_variable():
    code, _, err = run("run", "--rules", str(ROOT / "routing_rules.yaml"))
    assert code == 2
    assert err.strip() == "cannot start: SLACK_BOT_TOKEN is not set (environment or .env)"


def test_run_in_http_mode_needs_the_signing_secret(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    code, _, err = run("run", "--http", "0", "--rules", str(ROOT / "routing_rules.yaml"))
    assert code == 2
    assert "SLACK_SIGNING_SECRET is not set" in err


def test_migrate_creates_the_sqlite_database(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    code, out, err = run("migrate")
    assert code == 0, err
    assert (tmp_path / "bot.db").exists()
    assert "latest schema" in out
    assert run("migrate")[0] == 0  # idempotent


def test_migrate_with_unreachable_database_is_one_line(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    code, _, err = run("migrate")
    assert code == 2
    assert err.startswith("DATABASE_URL: cannot reach postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert "Traceback" not in err


def test_python_m_bot_is_the_same_command():
    proc = subprocess.run([sys.executable, "-m", "bot", "--version"], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ}, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("socialbot ")


def _replay_old_mention(tmp_path, *extra: str) -> dict:
    p = tmp_path / "old.jsonl"
    p.write_text(json.dumps({
        "id": "bag1", "network": "x", "created_at": "2015-02-24T11:35:00Z",
        "text": "@NorthwindAir lost my bag on NW12, baggage claim has no idea",
        "author": {"username": "u", "name": "", "followers": 800}}) + "\n")
    code, out, err = run("replay", str(p), "--json", "--rules", str(ROOT / "routing_rules.yaml"),
                         *extra)
    assert code == 0, err
    return json.loads(out)


def test_replay_scores_as_of_arrival_unless_as_of_is_given(tmp_path):
    on_arrival = _replay_old_mention(tmp_path)
    assert "age" not in on_arrival["score_parts"]  # the file is years old: no penalty for that
    later = _replay_old_mention(tmp_path, "--as-of", "2030-01-01")  # naive: UTC
    assert later["score_parts"]["age"] == -20
    assert later["score"] == on_arrival["score"] - 20
    next_day = _replay_old_mention(tmp_path, "--as-of", "2015-02-25T09:00:00-03:00")
    assert next_day["score_parts"]["age"] == -10  # 12:00 UTC: 24.4 h after it was posted


def test_replay_as_of_garbage_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        run("replay", str(tmp_path / "m.jsonl"), "--as-of", "garbage")
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --as-of: 'garbage' is not an ISO 8601 time" in err
    assert "Traceback" not in err


def test_check_live_shows_what_the_bot_recorded(monkeypatch, tmp_path):
    from datetime import UTC, datetime

    from bot.kit import models
    from bot.kit.db import make_engine, make_session_factory, session_scope, upgrade_to_head

    url = f"sqlite:///{tmp_path / 'live.db'}"
    upgrade_to_head(url)
    now = datetime.now(UTC)
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as s:
        s.add(models.Source(id="x-mentions", type="x_mentions", last_success_at=now))
        s.add(models.SourceUsage(source_id="x-mentions", day=now.date(), reads=2_000))
        s.add(models.Source(id="mastodon", type="mastodon_mentions", last_error_at=now,
                            last_error="SourceAuthError: 401", unhealthy_reason="401 invalid token"))
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    code, out, err = run("check", "--live", "--rules", str(ROOT / "routing_rules.yaml"))
    assert code == 0, err
    assert "x-mentions (x_mentions): healthy" in out
    assert "2,000 posts read this month, $10.00 of $150.00" in out
    assert "mastodon (mastodon_mentions): parked (401 invalid token)" in out
    assert "google-alerts (rss): never polled" in out


def test_check_live_on_an_unmigrated_database_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    code, _, err = run("check", "--live", "--rules", str(ROOT / "routing_rules.yaml"))
    assert code == 2 and "run `socialbot migrate`" in err
    assert not (tmp_path / "empty.db").exists()  # reading never creates a stray database


def network_rules(tmp_path) -> str:
    """The shipped rules with the Reddit and YouTube sources at their default `every`."""
    import yaml

    data = yaml.safe_load((ROOT / "routing_rules.yaml").read_text())
    data["sources"] = [
        {"id": "reddit-mentions", "type": "reddit_mentions"},
        {"id": "reddit-search", "type": "reddit_search", "query": "northwind air",
         "subreddits": ["travel", "flights"]},
        {"id": "youtube", "type": "youtube_comments",
         "channel_id": "UC_x5XG1OV2P6uZZ5FSM9Ttw"}]
    path = tmp_path / "networks.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_check_names_the_missing_reddit_and_youtube_credentials_and_says_if_replies_work(
        monkeypatch, tmp_path):
    code, out, err = run("check", "--rules", network_rules(tmp_path))
    assert code == 0, err
    assert ("source reddit-mentions (reddit_mentions): not ready, missing REDDIT_CLIENT_ID, "
            "REDDIT_CLIENT_SECRET, REDDIT_REFRESH_TOKEN") in out
    assert ("source youtube (youtube_comments): not ready, missing YOUTUBE_CLIENT_ID, "
            "YOUTUBE_CLIENT_SECRET, YOUTUBE_REFRESH_TOKEN") in out
    assert "replies on reddit: not possible, missing REDDIT_CLIENT_ID" in out
    for name, value in {"REDDIT_CLIENT_ID": "id", "REDDIT_CLIENT_SECRET": "s3cret-value",
                        "REDDIT_USERNAME": "NorthwindAir", "REDDIT_PASSWORD": "pw"}.items():
        monkeypatch.setenv(name, value)
    code, out, err = run("check", "--rules", network_rules(tmp_path))
    assert "source reddit-search (reddit_search): ready" in out
    assert "replies on reddit: possible" in out and "s3cret-value" not in out + err


def test_check_live_prints_the_polling_cost_inside_the_free_quotas(monkeypatch, tmp_path):
    from bot.kit.db import upgrade_to_head

    url = f"sqlite:///{tmp_path / 'live.db'}"
    upgrade_to_head(url)
    monkeypatch.setenv("DATABASE_URL", url)
    code, out, err = run("check", "--live", "--rules", network_rules(tmp_path))
    assert code == 0, err
    assert ("reddit-mentions (reddit_mentions) every 300s: 12 requests/h, 0 quota units/h; "
            "0.2% of Reddit's 100 requests/minute") in out
    assert ("youtube (youtube_comments) every 300s: 12 requests/h, 12 quota units/h; 2.9% of "
            "the 10,000 units/day quota") in out
    assert "OVER" not in out


def test_check_names_the_google_play_key_and_whether_replies_are_possible(monkeypatch, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nbrand: {name: Acme}\nteams:\n  care: {channel: C0CARE}\n"
                     "default_team: care\nsources:\n"
                     "  - {id: play, type: google_play_reviews, package: com.acmebank.mobile}\n")
    code, out, err = run("check", "--rules", str(rules))
    assert code == 0, err
    assert ("source play (google_play_reviews): not ready, missing "
            "GOOGLE_PLAY_SERVICE_ACCOUNT_JSON") in out
    assert "replies on google_play: not possible, missing GOOGLE_PLAY_SERVICE_ACCOUNT_JSON" in out
    monkeypatch.setenv("GOOGLE_PLAY_SERVICE_ACCOUNT_JSON", '{"type": "service_account"}')
    code, out, err = run("check", "--rules", str(rules))
    assert "source play (google_play_reviews): ready" in out
    assert "replies on google_play: possible" in out
    assert "service_account" not in out + err


def test_check_names_the_page_token_and_the_polling_cost(monkeypatch, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nbrand: {name: Acme}\nteams:\n  care: {channel: C0CARE}\n"
                     "default_team: care\nsources:\n"
                     "  - {id: fb, type: facebook_page, page_id: '104123456789012'}\n")
    code, out, err = run("check", "--rules", str(rules))
    assert code == 0, err
    assert "source fb (facebook_page): not ready, missing META_PAGE_ACCESS_TOKEN" in out
    assert "replies on facebook: not possible, missing META_PAGE_ACCESS_TOKEN" in out
    monkeypatch.setenv("META_PAGE_ACCESS_TOKEN", "EAAGsecretPageToken")
    code, out, err = run("check", "--rules", str(rules))
    assert "source fb (facebook_page): ready" in out
    assert "replies on facebook: possible" in out
    assert "EAAGsecret" not in out + err


def test_a_facebook_page_source_needs_its_page_id(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nbrand: {name: Acme}\nteams:\n  care: {channel: C0CARE}\n"
                     "default_team: care\nsources:\n  - {id: fb, type: facebook_page}\n")
    code, out, err = run("check", "--rules", str(rules))
    assert code == 2
    assert "needs the Page's page_id" in out + err
def test_check_names_the_app_store_key_settings_and_whether_replies_are_possible(
        monkeypatch, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nbrand: {name: Acme}\nteams:\n  care: {channel: C0CARE}\n"
                     "default_team: care\nsources:\n"
                     "  - {id: ios, type: app_store_reviews, app_id: '1473827385'}\n")
    code, out, err = run("check", "--rules", str(rules))
    assert code == 0, err
    assert ("source ios (app_store_reviews): not ready, missing APP_STORE_KEY_ID, "
            "APP_STORE_ISSUER_ID, APP_STORE_PRIVATE_KEY (or APP_STORE_PRIVATE_KEY_PATH)") in out
    assert ("replies on app_store: not possible, missing APP_STORE_KEY_ID, "
            "APP_STORE_ISSUER_ID, APP_STORE_PRIVATE_KEY (or APP_STORE_PRIVATE_KEY_PATH)") in out
    monkeypatch.setenv("APP_STORE_KEY_ID", "2X9R4HXF34")
    monkeypatch.setenv("APP_STORE_ISSUER_ID", "57246542-96fe-1a63-e053-0824d011072a")
    code, out, err = run("check", "--rules", str(rules))
    assert ("not ready, missing APP_STORE_PRIVATE_KEY (or APP_STORE_PRIVATE_KEY_PATH)\n"
            in out)
    key = tmp_path / "AuthKey_2X9R4HXF34.p8"
    monkeypatch.setenv("APP_STORE_PRIVATE_KEY_PATH", str(key))
    code, out, err = run("check", "--rules", str(rules))
    assert code == 2 and f"APP_STORE_PRIVATE_KEY_PATH: no such file {key}" in err
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIGTAgEAMBMG…\n-----END PRIVATE KEY-----\n")
    code, out, err = run("check", "--rules", str(rules))
    assert code == 0, err
    assert "source ios (app_store_reviews): ready" in out
    assert "replies on app_store: possible" in out
    assert "MIGTAgEAMBMG" not in out + err


def test_check_says_an_app_store_key_that_is_not_a_p8_in_one_line(monkeypatch, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nbrand: {name: Acme}\nteams:\n  care: {channel: C0CARE}\n"
                     "default_team: care\nsources:\n"
                     "  - {id: ios, type: app_store_reviews, app_id: '1473827385'}\n")
    for name, value in {"APP_STORE_KEY_ID": "2X9R4HXF34", "APP_STORE_ISSUER_ID": "57246542",
                        "APP_STORE_PRIVATE_KEY": "AuthKey_2X9R4HXF34.p8"}.items():
        monkeypatch.setenv(name, value)
    code, _out, err = run("check", "--rules", str(rules))
    assert code == 2
    [line] = [x for x in err.splitlines() if "APP_STORE_PRIVATE_KEY" in x]
    assert line.startswith("APP_STORE_PRIVATE_KEY: not the text of a .p8 key")
    assert "Traceback" not in err


def test_check_live_prints_the_app_store_polling_cost(monkeypatch, tmp_path):
    from bot.kit.db import upgrade_to_head

    url = f"sqlite:///{tmp_path / 'live.db'}"
    upgrade_to_head(url)
    monkeypatch.setenv("DATABASE_URL", url)
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nbrand: {name: Acme}\nteams:\n  care: {channel: C0CARE}\n"
                     "default_team: care\nsources:\n"
                     "  - {id: ios, type: app_store_reviews, app_id: '1473827385'}\n")
    code, out, err = run("check", "--live", "--rules", str(rules))
    assert code == 0, err
    assert ("ios (app_store_reviews) every 300s: 12 requests/h, 0 quota units/h; 0.3% of "
            "App Store Connect's 3,600 requests/hour") in out


def test_check_names_instagram_and_threads_credentials_and_the_search_quota(monkeypatch,
                                                                            tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nbrand: {name: Acme}\nteams:\n  care: {channel: C0CARE}\n"
                     "default_team: care\nsources:\n"
                     "  - {id: ig, type: instagram, ig_user_id: '17841400000000001'}\n"
                     "  - {id: threads, type: threads_mentions}\n"
                     "  - {id: threads-search, type: threads_search, query: acme, every: 30m}\n")
    code, out, err = run("check", "--rules", str(rules))
    assert code == 0, err
    assert "source ig (instagram): not ready, missing META_PAGE_ACCESS_TOKEN" in out
    assert "source threads (threads_mentions): not ready, missing THREADS_ACCESS_TOKEN" in out
    assert "replies on threads: not possible, missing THREADS_ACCESS_TOKEN" in out
    monkeypatch.setenv("THREADS_ACCESS_TOKEN", "THAAsecret")
    monkeypatch.setenv("META_PAGE_ACCESS_TOKEN", "EAAGsecret")
    code, out, err = run("check", "--rules", str(rules))
    assert "source threads-search (threads_search): ready" in out
    assert "replies on instagram: possible" in out and "replies on threads: possible" in out
    assert "secret" not in out + err


def test_instagram_needs_its_account_id_and_threads_search_a_query(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nbrand: {name: Acme}\nteams:\n  care: {channel: C0CARE}\n"
                     "default_team: care\nsources:\n  - {id: ig, type: instagram}\n"
                     "  - {id: ts, type: threads_search}\n")
    code, out, err = run("check", "--rules", str(rules))
    assert code == 2
    assert "needs the account's ig_user_id" in out + err
    assert "a threads_search source needs a query" in out + err
