"""Meta's webhook deliveries handed to the sources they concern, and those sources polled now.

A delivery's hints (`bot.networks.graph.webhook.hints_of`: object ids only) go to the running
sources that watch that Page or Instagram account (a source with a `hint` method: Facebook
and Instagram); each such source's poll job is moved to now, so the comment reaches the desk
within seconds instead of at the next `every`. The source reads every hinted object from the
Graph API itself. Hints live in memory: a restart, or a delivery that reached a replica which
does not lead, loses them, and the regular polls are the fallback (they read the newest posts'
comments); Socket Mode has no webhook at all, only the polls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from bot.networks.base import Source
from bot.networks.graph.webhook import Hint, hints_of

log = logging.getLogger(__name__)


@runtime_checkable
class Hintable(Protocol):
    def accepts(self, hint: Hint) -> bool: ...

    def hint(self, hint: Hint) -> None: ...


def deliver(payload: Any, sources: Iterable[Source],
            poll_now: Callable[[str], None]) -> list[str]:
    """Hand the delivery's hints to the sources that watch their account; the ids of the
    sources polled now."""
    hints = hints_of(payload)
    hinted: list[str] = []
    for source in sources:
        if not isinstance(source, Hintable):
            continue
        mine = [h for h in hints if source.accepts(h)]
        for h in mine:
            source.hint(h)
        if mine:
            hinted.append(source.spec.id)
            poll_now(source.spec.id)
    log.info("meta webhook: %d hint(s)%s", len(hints),
             f" for {', '.join(hinted)}" if hinted else " for no running source")
    return hinted
