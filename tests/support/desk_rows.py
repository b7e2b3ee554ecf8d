"""Mentions put straight on the desk for the App Home tests: a team's, at a priority and a
status, maybe claimed, due in so long. Wall-clock times: the bot under test runs on them."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

from bot.kit import models
from bot.kit.db import utcnow

_n = itertools.count(1)


def mention(s, *, team: str, priority: str, status: str = "new", claimed_by: str | None = None,
            due_in: timedelta | None = None, handle: str | None = None,
            complaint: bool = False) -> models.Mention:
    now = utcnow()
    k = next(_n)
    author = models.Author(network="x", handle=handle or f"home{k}", followers=100,
                           author_type="customer")
    m = models.Mention(network="x", external_id=f"home-{k}-{time.time_ns()}",
                       text=f"where is my bag {k}", author=author, compound=-0.5,
                       sentiment="negative", author_type="customer", score=50,
                       priority=priority, team=team, status=status, claimed_by=claimed_by,
                       ingested_at=now, sla_due_at=now + due_in if due_in is not None else None,
                       complaint=complaint)
    s.add(m)
    s.flush()
    return m
