"""Reports and exports count the networks that arrived with issue 16 like any other: `report
--json` by network, the text report's line, and the CSV export's `network` column."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from bot.domain.rules.load import load_rules
from bot.kit.db import make_session_factory
from bot.reports.service import ReportService
from tests.support.cli import run
from tests.support.paths import ROOT

NEW = {"reddit": 3, "youtube": 2, "google_play": 2, "app_store": 4}


def seed(session, make_mention, now: datetime) -> None:
    for network, n in NEW.items():
        for i in range(n):
            make_mention(network=network, external_id=f"{network}-{i}",
                         ingested_at=now - timedelta(hours=1 + i), team="care",
                         extra={"rating": "1"} if network.endswith(("play", "store")) else {})
    make_mention(network="x", ingested_at=now - timedelta(hours=1), team="care", lang="sw",
                 complaint=True, complaint_probability=0.8125)
    session.commit()


def test_report_counts_the_new_networks(monkeypatch, migrated_url, session, make_mention):
    now = datetime.now(UTC)
    seed(session, make_mention, now)
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    monkeypatch.setenv("SOCIALBOT_RULES", str(ROOT / "routing_rules.yaml"))
    code, out, err = run("report", "--since", "7d", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["by_network"] == {**NEW, "x": 1}
    assert data["total"] == sum(NEW.values()) + 1
    code, text, err = run("report", "--since", "7d")
    assert code == 0, err
    line = next(x for x in text.splitlines() if x.startswith("by network"))
    for network, n in NEW.items():
        assert f"{network} {n}" in line, line


def test_export_writes_the_new_networks(engine, session, make_mention):
    now = datetime.now(UTC)
    seed(session, make_mention, now)
    rules = load_rules(ROOT / "routing_rules.yaml")
    service = ReportService(make_session_factory(engine), lambda: rules, lambda: now)
    data, written, total = service.export_csv("7d")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert written == total == len(rows) == sum(NEW.values()) + 1
    counted = {n: sum(r["network"] == n for r in rows) for n in NEW}
    assert counted == NEW
    [x] = [r for r in rows if r["network"] == "x"]
    assert (x["complaint"], x["complaint_probability"], x["lang"]) == ("true", "0.8125", "sw")
