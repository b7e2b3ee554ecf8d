"""The stored history `socialbot tune` replays: every mention, rebuilt as the `Mention` ingest
scored, with the corrections staff made on its card (`bot.offline.tune.proposals.Case`). Reads only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.mention import Author, Mention
from bot.kit import models
from bot.offline.tune.proposals import Case

CHUNK = 1000  # rows fetched at a time


def _corrections(session: Session, since: datetime | None) -> dict[int, list[models.Correction]]:
    C = models.Correction
    q = select(C).order_by(C.at, C.id)
    if since is not None:
        q = q.join(models.Mention, models.Mention.id == C.mention_id).where(
            models.Mention.ingested_at >= since)
    out: dict[int, list[models.Correction]] = {}
    for c in session.scalars(q):
        out.setdefault(c.mention_id, []).append(c)
    return out


def load_cases(session: Session, *, since: datetime | None = None) -> Iterator[Case]:
    """Every stored mention (ingested at or after `since`, when given), oldest first. Per
    field, `truth` is the last value staff set and `was` what it was before their first fix."""
    corrections = _corrections(session, since)
    M, A = models.Mention, models.Author
    q = (select(M.id, M.network, M.external_id, M.text, M.url, M.created_at, M.lang,
                M.source_id, M.mentions_brand, M.in_reply_to_id, M.conversation_id, M.extra,
                M.ingested_at, A.handle, A.name, A.followers, A.external_id)
         .join(A, A.id == M.author_id).order_by(M.id)
         .execution_options(yield_per=CHUNK))
    if since is not None:
        q = q.where(M.ingested_at >= since)
    for row in session.execute(q):
        (mid, network, external_id, text, url, created_at, lang, source_id, mentions_brand,
         in_reply_to_id, conversation_id, extra, ingested_at, handle, name, followers,
         author_external_id) = row
        truth: dict[str, str] = {}
        was: dict[str, str] = {}
        for c in corrections.get(mid, ()):
            truth[c.field] = c.new_value
            if c.old_value is not None:
                was.setdefault(c.field, c.old_value)
        mention = Mention(
            network=network, external_id=external_id, text=text,
            author=Author(handle=handle, name=name or "", followers=followers or 0,
                          external_id=author_external_id),
            url=url, created_at=created_at, lang=lang, source_id=source_id,
            mentions_brand=bool(mentions_brand), in_reply_to_id=in_reply_to_id,
            conversation_id=conversation_id,
            extra={k: v for k, v in (extra or {}).items() if isinstance(v, str)})
        # A correction back to what scoring said in the first place is no correction.
        truth = {f: v for f, v in truth.items() if was.get(f) != v}
        yield Case(mention_id=mid, mention=mention, at=ingested_at, truth=truth, was=was)
