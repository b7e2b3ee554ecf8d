"""A post an adapter's parser refused, as a `Rejected` value for ingest's quarantine.

Each adapter normalises post by post and, when one raises, keeps it raw instead of failing
the poll: the rest of the page is stored and the cursor moves (before, a post with a
non-numeric id and no `created_at` raised at every poll and nothing after it was stored).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from bot.domain.mention import Mention
from bot.networks.base import Rejected

log = logging.getLogger(__name__)


def raw_text(item: Any) -> str:
    """The post as the network sent it, as readable text: JSON when it is JSON-like (dicts,
    Mastodon.py's dicts, atproto's pydantic models), else its repr."""
    if hasattr(item, "model_dump"):
        try:
            item = item.model_dump(mode="json", by_alias=True)
        except Exception:  # a model that cannot dump itself: its repr will do
            return repr(item)
    try:
        return json.dumps(item, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(item)


def rejected(network: str, item: Any, exc: Exception, external_id: object = None) -> Rejected:
    """`item`, whose parsing raised `exc`, kept for the quarantine (and logged once here)."""
    reason = f"{type(exc).__name__}: {exc}"
    log.warning("%s: a post could not be parsed and is quarantined: %s", network, reason[:300])
    return Rejected(network=network, raw=raw_text(item), reason=reason,
                    external_id=str(external_id) if external_id not in (None, "") else None)


def parse_into(network: str, out: list[Mention], rejected: list[Rejected], raw: Any,
               parse: Callable[..., Mention | None], *args: Any, **kwargs: Any) -> None:
    """`parse(*args, **kwargs)` appended to `out` (unless None); when it raises, `raw` (the post as
    the network sent it) appended to `rejected` instead: one post never fails its page."""
    try:
        mention = parse(*args, **kwargs)
    except Exception as exc:
        rejected.append(rejected_post(network, raw, exc))
        return
    if mention is not None:
        out.append(mention)


def rejected_post(network: str, raw: Any, exc: Exception) -> Rejected:
    """`rejected` with the id read from `raw` when it is a JSON object with an `id`."""
    return rejected(network, raw, exc, raw.get("id") if isinstance(raw, dict) else None)
