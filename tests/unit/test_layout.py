"""The written rules of the layout (ARCHITECTURE.md, "Layers"), checked on the source tree.

Import direction between packages is `lint-imports`' job (`.importlinter`); what it can't say
is checked here: the size of `bot/`, private names, tests importing tests, package docstrings,
and that every document the code cites is in the repository."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("bot", "handlers", "tests")
TOP_LEVEL_MAX = 15  # modules and packages directly under bot/


def python_files(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from (p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def imports(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, module, name) of every `from module import name` in `path`."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.lineno, node.module, alias.name


def test_bot_has_at_most_15_top_level_modules_and_packages():
    entries = [p.name for p in (ROOT / "bot").iterdir()
               if p.name not in ("__init__.py", "__main__.py", "__pycache__", "py.typed")]
    assert len(entries) <= TOP_LEVEL_MAX, sorted(entries)


def test_no_private_name_is_imported_from_another_module():
    found = [f"{path.relative_to(ROOT)}:{line}: {module}.{name}"
             for path in python_files("bot", "handlers", "tests", "bench", "tools")
             for line, module, name in imports(path)
             if module.split(".")[0] in FIRST_PARTY and name.startswith("_")
             and not name.startswith("__")]
    assert found == []


def test_tests_import_no_other_test_module():
    """Shared helpers live in conftest.py fixtures or tests/support/, not in test modules."""
    found = [f"{path.relative_to(ROOT)}:{line}: {module}"
             for path in python_files("tests")
             for line, module, _ in imports(path)
             if module.startswith("tests.") and not module.startswith("tests.support")]
    assert found == []


def test_every_package_says_what_lives_there():
    missing = []
    for init in [*python_files("bot", "handlers")]:
        if init.name != "__init__.py":
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        if not doc or doc.strip() == "TODO":
            missing.append(str(init.relative_to(ROOT)))
    assert missing == []


def test_every_document_the_code_cites_is_in_the_repository():
    cited = set()
    for path in python_files("bot", "handlers", "migrations", "tests", "bench", "tools"):
        cited |= set(re.findall(r"\b([A-Z][A-Z_]+\.md)\b", path.read_text(encoding="utf-8")))
    assert cited, "the code cites ARCHITECTURE.md and PLATFORM.md"
    assert sorted(name for name in cited if not (ROOT / name).is_file()) == []
