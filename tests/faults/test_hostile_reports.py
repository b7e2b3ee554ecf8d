"""Hostile report requests and export cells (issue 18, item 11): a period at the edge of the
calendar is one clear line, never an OverflowError; a CSV cell that a spreadsheet would run as
a formula after leading spaces or line breaks is neutralised like one that starts with `=`."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from bot.cli import main
from bot.reports.period import PeriodError, parse_period
from bot.reports.service import csv_cell
from tests.support import fault_figures
from tests.support.paths import ROOT

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
EDGES = ["0001-01-01..0001-01-02", "0001-01-01..0001-01-01", "0001-12-31..0002-01-01",
         "1999-12-31..2000-01-01", "9999-12-30..9999-12-31", "9999-12-31..9999-12-31"]


@pytest.mark.parametrize("spec", EDGES)
def test_a_period_at_the_calendars_edge_is_one_clear_line(spec):
    fault_figures.tried("hostile inputs")
    with pytest.raises(PeriodError) as exc:
        parse_period(spec, NOW)
    assert "\n" not in str(exc.value) and spec in str(exc.value)


def test_the_report_command_answers_the_edge_in_one_line(monkeypatch, migrated_url):
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    monkeypatch.setenv("SOCIALBOT_RULES", str(ROOT / "routing_rules.yaml"))
    out, err = io.StringIO(), io.StringIO()
    code = main(["report", "--since", "0001-01-01..0001-01-02"], out=out, err=err)
    fault_figures.tried("hostile inputs")
    assert code == 2 and err.getvalue().count("\n") == 1 and "Traceback" not in err.getvalue()
    assert "2000-01-01" in err.getvalue()


FORMULAS = ["=1+1", " =1+1", "\n=HYPERLINK(\"http://evil\")", "  \n\t+SUM(A1)", "\r\n-2+3",
            "\u00a0@cmd", " \n @A1"]


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_after_spaces_or_line_breaks_is_neutralised(text):
    fault_figures.tried("hostile inputs")
    cell = csv_cell(text)
    assert cell == "'" + text
    [[read]] = list(csv.reader(io.StringIO(_row(cell))))
    assert read.startswith("'")


@pytest.mark.parametrize("text", ["hello = world", "a-b", "", " plain", "2026-12-05"])
def test_ordinary_text_is_left_alone(text):
    assert csv_cell(text) == text


def _row(cell: str) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow([cell])
    return buf.getvalue()
