"""Rules files for tests that run the real bot: the shipped rules with other sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.support.paths import ROOT


def shipped_rules_with(tmp_path: Path, sources: list[dict[str, Any]]) -> Path:
    """`routing_rules.yaml` as shipped, its sources replaced by `sources`, written to
    `tmp_path/rules.yaml`."""
    data = yaml.safe_load((ROOT / "routing_rules.yaml").read_text())
    data["sources"] = sources
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path
