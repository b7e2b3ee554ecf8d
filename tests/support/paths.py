"""Where things are, whatever folder a test module sits in."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
DATA = ROOT / "tests" / "data"  # recorded and hand-written inputs (tests/data/README.md)
GOLDEN = ROOT / "tests" / "golden"  # expected Block Kit payloads (tests.support.golden)
