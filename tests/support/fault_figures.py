"""The figures of the fault-injection suite, counted by the tests from what they checked.

Tests call `tried(kind, n)` for every kill point, fault or hostile input they actually ran,
and `invariant(name, violations)` for every check of an exactly-once/authorisation invariant
(the number of violations that check found: mentions missing, cards or replies in excess,
state changed by a refused click). tests/faults/conftest.py prints the totals in one table at
the end of the run, per database backend.
"""

from __future__ import annotations

from collections import Counter

KINDS = ("kill points", "faults injected", "hostile inputs")
INVARIANTS = ("mentions lost", "duplicate cards", "duplicate replies", "unauthorised changes")

tries: Counter[tuple[str, str]] = Counter()  # (kind, backend) -> inputs run
checks: Counter[tuple[str, str]] = Counter()  # (invariant, backend) -> times checked
violations: Counter[tuple[str, str]] = Counter()  # (invariant, backend) -> violations found
backend = "-"  # the database backend of the running test ("-" for tests without one)


def tried(kind: str, n: int = 1) -> None:
    assert kind in KINDS, kind
    tries[(kind, backend)] += n


def invariant(name: str, found: int) -> int:
    """Record one check of `name` that found `found` violations; returns `found` so the test
    can assert it is 0 in the same line."""
    assert name in INVARIANTS, name
    assert found >= 0, (name, found)
    checks[(name, backend)] += 1
    violations[(name, backend)] += found
    return found


def table() -> list[str]:
    backends = sorted({b for _, b in (*tries, *checks)}, key=lambda b: (b == "-", b))
    if not backends:
        return []
    head = ["", *backends, "total"]
    rows: list[list[str]] = []
    for kind in KINDS:
        per = [tries[(kind, b)] for b in backends]
        rows.append([kind, *map(str, per), str(sum(per))])
    for name in INVARIANTS:
        per = [(violations[(name, b)], checks[(name, b)]) for b in backends]
        rows.append([name, *(f"{v} ({c} checks)" for v, c in per),
                     f"{sum(v for v, _ in per)} ({sum(c for _, c in per)} checks)"])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return [line(head), line(["-" * w for w in widths]), *(line(r) for r in rows)]
