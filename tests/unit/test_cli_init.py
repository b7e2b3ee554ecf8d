"""`socialbot init` writes a starter rules file for your brand — channels by name and approvers
by handle looked up in Slack (a fake Slack on 127.0.0.1) — and `check` warns while the shipped
sample's placeholders are still in the rules."""

from __future__ import annotations

import pytest

from bot.domain.rules.load import load_rules
from bot.domain.rules.starter import placeholders
from tests.support.cli import clean_env, run
from tests.support.fake_slack import FakeSlack
from tests.support.paths import ROOT


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    clean_env(monkeypatch, tmp_path)


@pytest.fixture
def slack(monkeypatch):
    fake = FakeSlack(channels=[{"id": "C0REALCARE", "name": "social-care"}],
                     users=[{"id": "U0DANA0001", "name": "dana", "profile": {}},
                            {"id": "U0GONE0001", "name": "lee", "deleted": True}]).start()
    monkeypatch.setenv("SLACK_API_URL", fake.api_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-init")
    yield fake
    fake.stop()


def test_check_warns_that_the_sample_is_still_the_sample():
    code, out, _ = run("check", "--offline", "--rules", str(ROOT / "routing_rules.yaml"))
    assert code == 0
    assert ("warning: the sample's placeholders are still there (14: brand.name: Northwind Air; "
            "sources[5].url: https://www.google.com/alerts/feeds/00000000000000000000/"
            "1111111111111111111; sources[6].url: https://news.example.org/travel.rss; …); "
            "write your own with `socialbot init`") in out


def test_init_looks_up_ids_and_writes_rules_check_accepts(slack, tmp_path):
    code, out, err = run("init", "--brand", "Acme Bank", "--team", "care=#social-care",
                         "--approver", "care=@Dana", "--approver", "care=S0LEADS001",
                         "--x-username", "@AcmeBank", "--feed",
                         "https://www.google.com/alerts/feeds/123/456")
    assert code == 0, err
    assert out.startswith("routing_rules.yaml: written — 1 team(s); next: socialbot check")
    rules = load_rules(tmp_path / "routing_rules.yaml")
    assert (rules.brand.name, rules.brand.x_username) == ("Acme Bank", "AcmeBank")
    assert rules.teams["care"].channel == "C0REALCARE"
    assert rules.teams["care"].approvers == ["U0DANA0001", "S0LEADS001"]
    assert [s.type for s in rules.sources] == ["x_mentions", "rss"]
    assert placeholders(rules) == []
    assert "C0REALCARE  # #social-care" in (tmp_path / "routing_rules.yaml").read_text()
    code, out, err = run("check", "--offline")
    assert code == 0 and "placeholders" not in out, err


@pytest.mark.parametrize(("argv", "says"), [
    (["--team", "care=#nowhere", "--approver", "care=@dana"],
     "slack: #nowhere not found (is the bot invited? private channels need it)"),
    (["--team", "care=#social-care", "--approver", "care=@lee"],
     "slack: @lee not found among the workspace's members"),
    (["--team", "care=#social-care"], "--approver: team care has none"),
    (["--team", "care=C0REALCARE", "--approver", "care=U0DANA0001", "--feed",
      "https://news.example.org/x.rss"], "--feed: https://news.example.org/x.rss is an example"),
])
def test_init_refuses_what_it_cannot_resolve_or_would_be_a_placeholder(slack, tmp_path, argv,
                                                                        says):
    code, _, err = run("init", "--brand", "Acme Bank", *argv)
    assert code == 2
    assert err.startswith(says) and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "routing_rules.yaml").exists()


def test_init_refuses_the_sample_brand_and_an_existing_file(tmp_path):
    ids = ["--team", "care=C0REALCARE", "--approver", "care=U0DANA0001"]
    assert run("init", "--brand", "Northwind Air", *ids)[2].startswith("--brand: give")
    (tmp_path / "routing_rules.yaml").write_text("mine")
    code, _, err = run("init", "--brand", "Acme", *ids)
    assert (code, err.strip()) == (2, "routing_rules.yaml: exists; pass --force to replace it, "
                                      "or --rules PATH")
    assert run("init", "--brand", "Acme", "--force", *ids)[0] == 0  # ids given: no Slack call
