"""routing_rules.yaml → a validated, immutable `Rules` value.

Every problem is reported as `file:line: key.path: what is wrong` (see `RulesError`), never as a
traceback. The schema lives in `bot.domain.rules.schema`; this module reads YAML, keeps the line of
every key, and turns pydantic's errors into those messages.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from bot.domain.rules.references import reference_problems
from bot.domain.rules.schema import Rules

__all__ = ["Problem", "Rules", "RulesError", "load_rules", "parse_rules"]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.message}"


class RulesError(Exception):
    """The rules file cannot be used; `problems` says where and why, one per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


Path_ = tuple[str | int, ...]


def _line_index(node: yaml.Node, path: Path_ = (), index: dict | None = None) -> dict[Path_, int]:
    """Map every key path in the YAML document to its 1-based line."""
    index = {} if index is None else index
    index.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            # A key's line, not its value's: `key:` followed by a block starts on the key line.
            index[(*path, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*path, key), index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), index)
    return index


def _dotted(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def _nearest_line(lines: dict[Path_, int], path: Path_) -> int:
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path, 1)


def _clean_loc(loc: tuple) -> Path_:
    """Drop pydantic's union/tag/validator segments so a loc is a path into the document."""
    out: list[str | int] = []
    for part in loc:
        internal = isinstance(part, str) and (
            "[" in part or part.startswith("function-") or part in {"Condition", "list[str]", "str"})
        if not internal:
            out.append(part)
    return tuple(out)


def _message(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    return msg


def _unique_key_loader(text: str, filename: str) -> yaml.Node:
    """Compose the document, refusing duplicate keys (PyYAML silently keeps the last one)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise RulesError([Problem(filename, line, "(yaml)", f"{exc.problem or exc}")]) from None
    if node is None:
        raise RulesError([Problem(filename, 1, "(top)", "the file is empty")])
    problems: list[Problem] = []

    def walk(n: yaml.Node, path: Path_) -> None:
        if isinstance(n, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in n.value:
                if k.value in seen:
                    problems.append(
                        Problem(filename, k.start_mark.line + 1, _dotted((*path, k.value)),
                                "duplicate key")
                    )
                seen.add(k.value)
                walk(v, (*path, k.value))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*path, i))

    walk(node, ())
    if problems:
        raise RulesError(problems)
    return node


def parse_rules(text: str, filename: str = "routing_rules.yaml") -> Rules:
    """Parse and validate rules text; raise `RulesError` with file:line messages."""
    node = _unique_key_loader(text, filename)
    data: Any = yaml.safe_load(text)
    lines = _line_index(node)
    if not isinstance(data, dict):
        raise RulesError([Problem(filename, 1, "(top)", "expected a mapping of keys")])
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path = _clean_loc(err["loc"])
            problems.append(
                Problem(filename, _nearest_line(lines, path), _dotted(path), _message(err))
            )
        # Schema errors stop pydantic before the cross-references are checked: check them on
        # the raw document too, so one round fixes the file (a key reported once).
        reported = {p.key for p in problems}
        problems += [Problem(filename, _nearest_line(lines, path), _dotted(path), message)
                     for path, message in reference_problems(data)
                     if _dotted(path) not in reported]
        problems.sort(key=lambda p: (p.line, p.key))  # stable order: by line, then key
        raise RulesError(problems) from None


MISSING_RULES = ("no such file: write a starter with `socialbot init --brand NAME --team "
                 "TEAM=#channel`, or set SOCIALBOT_RULES to your rules file")


def default_rules_path() -> Path:
    return Path(os.environ.get("SOCIALBOT_RULES", "routing_rules.yaml"))


def load_rules(path: str | os.PathLike[str] | None = None) -> Rules:
    """Load the rules file at `path` (default `$SOCIALBOT_RULES` or ./routing_rules.yaml)."""
    p = Path(path) if path is not None else default_rules_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError([Problem(str(p), 0, "(file)", MISSING_RULES)]) from None
    except UnicodeDecodeError as exc:
        raise RulesError([Problem(str(p), 0, "(file)", f"not UTF-8 text: {exc.reason}")]) from None
    except OSError as exc:
        raise RulesError([Problem(str(p), 0, "(file)", exc.strerror or str(exc))]) from None
    return parse_rules(text, str(p))
