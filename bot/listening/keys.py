"""Keys ingest looks rows up by: normalised handles, and (network, id) lists split for IN."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.conversation import handle_key

# Large IN lists are split: SQLite allows 32,766 bound parameters, and smaller chunks plan better.
LOOKUP_CHUNK = 500


# The one rule, shared with `socialbot replay` (bot.domain.conversation).
normalise_handle = handle_key


def chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def per_network(keys: Iterable[tuple[str, str]]) -> Iterable[tuple[str, list[str]]]:
    """(network, chunk of second parts) of (network, …) keys, for lookups by a two-column key
    as `network = … AND x IN (…)`. A row-value list (`(network, x) IN (…)`) becomes one OR
    per key, which PostgreSQL tests on every row of the network when its statistics are stale
    (a young table, a burst before autovacuum's ANALYZE): 48 ms against 1.8 ms at 14k rows."""
    grouped: dict[str, list[str]] = {}
    for network, second in keys:
        grouped.setdefault(network, []).append(second)
    for network, seconds in grouped.items():
        for chunk in chunks(seconds):
            yield network, chunk
