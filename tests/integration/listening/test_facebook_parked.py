"""Meta's error 190 (the Page token expired) through a real poll: the source is parked with
the fix, and `socialbot check --live` shows that fix to whoever runs it; the usage headers
slow the poll down on the source row, not only in the adapter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.polling import poll_source
from bot.networks.facebook.client import build_graph
from bot.networks.facebook.source import FacebookPageSource
from tests.support.cli import clean_env, run
from tests.support.fake_meta import PAGE_ID, FakeMeta, meta_error
from tests.support.paths import ROOT

NOW = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)


@pytest.fixture
def meta():
    fake = FakeMeta().start()
    yield fake
    fake.stop()


def test_an_expired_page_token_parks_the_source_and_check_live_says_how_to_fix_it(
        meta, engine, migrated_url, monkeypatch, tmp_path):
    factory = make_session_factory(engine)
    data = yaml.safe_load((ROOT / "routing_rules.yaml").read_text())
    data["sources"] = [{"id": "fb", "type": "facebook_page", "page_id": PAGE_ID}]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    rules = load_rules(path)
    source = FacebookPageSource(rules.sources[0], rules.brand, build_graph(meta.settings()))
    meta.fail("feed", 400, meta_error("token_expired"))
    outcome = poll_source(factory, source, rules, clock=lambda: NOW)
    assert outcome.status == "auth_error"
    with session_scope(factory) as s:
        row = s.get(models.Source, "fb")
        assert row is not None and "META_PAGE_ACCESS_TOKEN" in (row.unhealthy_reason or "")
    # parked: the next poll does not call Meta
    calls = len(meta.calls)
    assert poll_source(factory, source, rules, clock=lambda: NOW).status == "skipped"
    assert len(meta.calls) == calls

    clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    monkeypatch.setenv("META_PAGE_ACCESS_TOKEN", "EAAGexpired")
    code, out, err = run("check", "--live", "--offline", "--rules", str(path))
    text = out + err
    assert code == 0, text  # parked is a state of the running bot, not a broken setting
    assert "parked" in text and "code 190/463" in text
    assert "make a new long-lived token" in text and "META_PAGE_ACCESS_TOKEN" in text
    assert "fb (facebook_page) every 300s: 24 requests/h" in text
