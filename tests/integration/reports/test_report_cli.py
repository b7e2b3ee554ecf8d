"""`socialbot report`: the same figures in the terminal, as text or JSON."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

from bot.cli import main
from tests.support.paths import ROOT


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def test_report_text_and_json(monkeypatch, migrated_url, session, make_mention):
    now = datetime.now(UTC)
    make_mention(ingested_at=now - timedelta(hours=2), team="care",
                 first_response_at=now - timedelta(hours=1), complaint=True, lang="es-MX")
    make_mention(ingested_at=now - timedelta(days=2), team="pr", sentiment="positive")
    make_mention(ingested_at=now - timedelta(days=10), team="care")
    session.commit()
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    monkeypatch.setenv("SOCIALBOT_RULES", str(ROOT / "routing_rules.yaml"))
    code, out, err = run("report")
    assert code == 0, err
    assert "mentions        2 (previous period 1)" in out
    assert "first response  median 1h 00m" in out
    assert "complaints      1 (50% of mentions, +50.0 pp; previous period 0)" in out
    assert "languages       en 1, es 1 (1 complaint)" in out
    code, out, _ = run("report", "--since", "30d", "--team", "care", "--json")
    data = json.loads(out)
    assert code == 0 and data["total"] == 2 and data["by_team"] == {"care": 2}
    assert data["period"]["label"] == "30d" and data["first_response"]["median"] == 3600.0
    assert data["complaints"] == 1 and data["complaint_share"] == 0.5
    assert list(data["languages"].items()) == [("en", {"mentions": 1, "complaints": 0}),
                                               ("es", {"mentions": 1, "complaints": 1})]
    assert run("report", "--since", "fortnight")[2].startswith("--since: ")
    assert run("report", "--team", "nobody")[0] == 2
