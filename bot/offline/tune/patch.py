"""PURE edits of the rules file's text: `socialbot tune --write` patches a copy of the file.

The file is edited as text, at the places PyYAML's node marks point to, so its comments, order
and layout stay as they were: a lexicon entry is a new line in a block mapping (or `, k: v`
before the `}` of a flow one), a rule is a new one-line `- {name: …}` item, a changed author
list (or a language's complaint cues) is written in flow style where the old one was. New values are rendered by PyYAML, so they
are quoted where YAML needs it.

`patch` re-reads the text after every edit and, at the end, checks that the patched text parses
to exactly the `Rules` that `bot.offline.tune.proposals.apply` computes in memory; anything else raises
`PatchError` instead of writing a file that says something other than what was replayed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from bot.domain.rules.load import parse_rules
from bot.domain.rules.schema import Rules
from bot.offline.tune import proposals as tune


class PatchError(Exception):
    pass


def _flow(value: Any) -> str:
    """`value` as one line of flow-style YAML."""
    text = yaml.safe_dump([value], default_flow_style=True, sort_keys=False, width=10**9,
                          allow_unicode=True).strip()
    return text[1:-1]  # the list around it


def _compose(text: str) -> yaml.MappingNode:
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(node, yaml.MappingNode):
        raise PatchError("the rules file is not a mapping")
    return node


def _get(node: yaml.Node, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                return k, v
    return None


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end


def _content_end(node: yaml.Node) -> int:
    """Where the text of `node` ends. A block collection's own end mark is the start of
    whatever follows it (blank lines and comments included), so this follows the last values
    down to one that ends where its text does."""
    while isinstance(node, yaml.CollectionNode) and not node.flow_style and node.value:
        node = node.value[-1][1] if isinstance(node, yaml.MappingNode) else node.value[-1]
    return node.end_mark.index


def _after_last(text: str, node: yaml.Node) -> int:
    """Where a new line goes after a block collection's last entry: the end of the line on
    which its last value ends (after any comment there)."""
    return _line_end(text, _content_end(node))


def _closing(text: str, node: yaml.Node) -> int:
    """The index of the `}` or `]` that closes a flow collection."""
    i = node.end_mark.index - 1
    if text[i] not in "}]":
        raise PatchError(f"line {node.end_mark.line + 1}: expected the end of a flow collection")
    return i


def _add_key(text: str, mapping: yaml.MappingNode, key: str, value: Any) -> str:
    """`key: value` added at the end of `mapping` (which must not have `key`)."""
    if mapping.flow_style:
        i = _closing(text, mapping)
        sep = ", " if mapping.value else ""
        return text[:i] + f"{sep}{_flow(key)}: {_flow(value)}" + text[i:]
    if not mapping.value:  # an empty block mapping cannot occur; an empty value is a scalar
        raise PatchError("cannot add to an empty mapping")
    indent = mapping.value[0][0].start_mark.column
    at = _after_last(text, mapping)
    return text[:at] + "\n" + " " * indent + f"{_flow(key)}: {_flow(value)}" + text[at:]


def _set_value(text: str, path: tuple[str, ...], value: Any) -> str:
    """`path` set to `value`: the old value's text replaced (in flow style), or the key added
    to the nearest mapping that exists, with the missing levels as one nested flow value."""
    root = _compose(text)
    node: yaml.Node = root
    for depth, key in enumerate(path):
        found = _get(node, key)
        if found is None:
            nested: Any = value
            for k in reversed(path[depth + 1:]):
                nested = {k: nested}
            if depth == 0 and not root.flow_style:  # a new top-level key: at the end
                tail = "" if text.endswith("\n") else "\n"
                return text + tail + f"{_flow(key)}: {_flow(nested)}\n"
            assert isinstance(node, yaml.MappingNode)
            return _add_key(text, node, key, nested)
        node = found[1]
    # A block value is replaced from its first line (comments on the key's line stay) to where
    # its text ends (the blank lines and comments after it stay).
    start, end = node.start_mark.index, _content_end(node)
    replacement = _flow(value)
    if end == start:  # an empty value (`key:` and nothing): keep a space after the colon
        replacement = " " + replacement
    return text[:start] + replacement + text[end:]


def _rules_node(text: str) -> yaml.SequenceNode | None:
    found = _get(_compose(text), "rules")
    if found is None or not isinstance(found[1], yaml.SequenceNode):
        return None
    return found[1]


def _insert_rule(text: str, rule: dict[str, Any], before: int | None) -> str:
    seq = _rules_node(text)
    if seq is None or not seq.value:
        return _set_value(text, ("rules",), [rule])
    item = _flow(rule)
    if seq.flow_style:
        if before is None:
            i = _closing(text, seq)
            return text[:i] + ", " + item + text[i:]
        i = seq.value[before].start_mark.index
        return text[:i] + item + ", " + text[i:]
    first = seq.value[0]
    line_start = text.rfind("\n", 0, first.start_mark.index) + 1
    dash = text.index("-", line_start)
    prefix = " " * (dash - line_start) + "- "
    if before is None:
        at = _after_last(text, seq)
        return text[:at] + "\n" + prefix + item + text[at:]
    target = seq.value[before].start_mark.index
    at = text.rfind("\n", 0, target) + 1
    return text[:at] + prefix + item + "\n" + text[at:]


def _drop_key(text: str, path: tuple[str | int, ...], key: str) -> str:
    """`key` removed from the mapping at `path` (its line in a block mapping, `k: v` with one
    comma in a flow one)."""
    node: yaml.Node = _compose(text)
    for step in path:
        if isinstance(step, int):
            assert isinstance(node, yaml.SequenceNode)
            node = node.value[step]
        else:
            found = _get(node, step)
            if found is None:
                raise PatchError(f"{'.'.join(map(str, path))}: not found")
            node = found[1]
    assert isinstance(node, yaml.MappingNode)
    pairs = node.value
    k = next((n for n, (kn, _) in enumerate(pairs) if kn.value == key), None)
    if k is None:
        return text
    key_node, value_node = pairs[k]
    if len(pairs) == 1:  # the mapping becomes {}
        start, end = node.start_mark.index, _content_end(node)
        return text[:start] + "{}" + text[end:]
    if node.flow_style:
        if k + 1 < len(pairs):  # `key: v, ` up to the next key
            return text[:key_node.start_mark.index] + text[pairs[k + 1][0].start_mark.index:]
        prev_end = pairs[k - 1][1].end_mark.index  # `, key: v` after the previous value
        return text[:prev_end] + text[value_node.end_mark.index:]
    start = text.rfind("\n", 0, key_node.start_mark.index) + 1
    end = _line_end(text, _content_end(value_node)) + 1
    return text[:start] + text[end:]


def _apply_one(text: str, edit: dict[str, Any]) -> str:
    op = edit["op"]
    if op == "lexicon":  # English: sentiment.lexicon; another language: sentiment.lexicons.<lang>
        word, valence, lang = edit["word"], edit["valence"], edit.get("lang")
        path = ("sentiment", "lexicon") if lang is None else ("sentiment", "lexicons", lang)
        node: yaml.Node | None = _compose(text)
        for key in path:
            found = _get(node, key) if isinstance(node, yaml.MappingNode) else None
            node = found[1] if found else None
        lexicon = node if isinstance(node, yaml.MappingNode) else None
        if lexicon is not None and _get(lexicon, word) is not None:
            return _set_value(text, (*path, word), valence)
        if lexicon is not None and lexicon.value:
            return _add_key(text, lexicon, word, valence)
        sentiment = parse_rules(text).sentiment
        current = dict(sentiment.lexicon if lang is None else sentiment.lexicons.get(lang, {}))
        current[word] = valence
        return _set_value(text, path, current)
    if op == "authors":
        lists = tune.author_lists_after(parse_rules(text), edit["kind"], edit["handles"])
        for kind, handles in lists.items():
            text = _set_value(text, ("authors", kind), handles)
        return text
    if op == "add_rule":
        return _insert_rule(text, edit["rule"], edit["before"])
    if op == "drop_rule_priority":
        return _drop_key(text, ("rules", edit["index"], "then"), "priority")
    if op == "complaint_cue":  # the language's list, written again in flow style with the cue
        lang, cue = edit["lang"], edit["cue"]
        cues = list(parse_rules(text).complaint.cues.get(lang, ()))
        return _set_value(text, ("complaint", "cues", lang),
                          cues if cue in cues else [*cues, cue])
    if op == "complaint_threshold":
        return _set_value(text, ("complaint", "threshold_shift"), edit["shift"])
    raise PatchError(f"unknown edit {op!r}")


def patch(text: str, edits: Iterable[dict[str, Any]], filename: str = "rules") -> str:
    """The rules file's text with `edits` (from `bot.offline.tune.proposals` proposals) applied; checked to parse
    to `bot.offline.tune.proposals.apply(parse_rules(text), edits)`."""
    edits = list(edits)
    original: Rules = parse_rules(text, filename)
    for edit in tune.in_order(edits):
        text = _apply_one(text, edit)
    expected = tune.apply(original, edits)
    got = parse_rules(text, filename)
    if got.model_dump() != expected.model_dump():
        raise PatchError("the patched file does not say what was replayed; not written")
    return text
