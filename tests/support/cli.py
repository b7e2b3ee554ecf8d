"""Running `socialbot` in-process, as the CLI tests do: a clean environment, output captured."""

from __future__ import annotations

import io

import pytest

from bot.cli import main
from bot.config import Settings


def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """No setting from the machine's environment, and the current folder an empty one (no
    stray .env read, no socialbot.db written into the repository)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]


def run(*argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `socialbot ARGV…`."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()
