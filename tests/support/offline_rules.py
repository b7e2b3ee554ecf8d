"""The shipped rules with the internet taken out: one RSS source, a real Google Alerts feed
read from a local file (or a named pipe), so the bot's pollers run for real offline."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.support.paths import DATA, ROOT

FEED = DATA / "feeds" / "google_alerts_atom.xml"


def offline_rules(tmp_path: Path) -> Path:
    """The shipped rules with one source, a real Google Alerts feed read from a local file, so
    the pollers run for real without the internet."""
    return rules_reading(tmp_path, FEED)


def rules_reading(tmp_path: Path, feed: Path) -> Path:
    """The shipped rules with one RSS source reading `feed` (a file or a named pipe)."""
    data = yaml.safe_load((ROOT / "routing_rules.yaml").read_text())
    data["sources"] = [{"id": "alerts", "type": "rss", "url": feed.as_uri(), "every": "1h"}]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
