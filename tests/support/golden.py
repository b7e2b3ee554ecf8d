"""Golden JSON files in tests/golden/: compared by default, rewritten with `UPDATE_GOLDEN=1`.

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/slack/test_blocks.py -q   # then review `git diff`
"""

from __future__ import annotations

import difflib
import json
import os

import pytest

from tests.support.paths import GOLDEN


def render(payload: object) -> str:
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def assert_golden(name: str, payload: object) -> None:
    path = GOLDEN / f"{name}.json"
    actual = render(payload)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"{path} does not exist: run with UPDATE_GOLDEN=1 to create it, then review it")
    expected = path.read_text(encoding="utf-8")
    if json.loads(actual) != json.loads(expected):
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            f"{path.name} (golden)", f"{path.name} (built)"))
        pytest.fail(f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept):\n{diff}")
