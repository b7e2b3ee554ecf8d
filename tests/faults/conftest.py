"""Fault-injection suite: kill points, injected faults, hostile input (issue 6).

Every test counts what it tried and what it checked in `tests.support.fault_figures`; the
table is printed at the end of the run (`pytest_terminal_summary` below), per database backend.
The DB fixtures (`backend`, `migrated_url`, `engine`…) are tests/conftest.py's: every test that
uses them runs on SQLite and, with TEST_DATABASE_URL set, on PostgreSQL.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import fault_figures


@pytest.fixture(autouse=True)
def _figures_backend(request: pytest.FixtureRequest) -> Iterator[None]:
    fault_figures.backend = (request.getfixturevalue("backend")
                       if "backend" in request.fixturenames else "-")
    yield
    fault_figures.backend = "-"


@pytest.fixture
def fresh_db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], str]:
    """`fresh_db()`: the URL of an empty database at head, a new one at every call (a kill
    point is replayed from scratch): a copy of the migrated SQLite template, or the test's
    PostgreSQL database truncated."""
    n = iter(range(1_000_000))

    def make() -> str:
        if backend == "postgres":
            return request.getfixturevalue("postgres_database").migrated()
        path = tmp_path / f"kill{next(n)}.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"

    return make


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    lines = fault_figures.table()
    if not lines:
        return
    terminalreporter.section("fault injection: figures")
    for line in lines:
        terminalreporter.write_line(line)
    bad = sum(fault_figures.violations.values())
    terminalreporter.write_line(
        "invariants: all 0" if bad == 0 else f"invariants: {bad} VIOLATION(S)")
