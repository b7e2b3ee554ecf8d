"""Posts that cannot be parsed or stored are kept aside, raw, instead of failing their poll.

Before, one bad post failed its whole page at every poll (the cursor never moved past it),
and the good posts beside it were never stored. Now ingest stores a page post by post when the
page as a whole fails with a data error (each post in a SAVEPOINT), and the post that still
fails lands here with the reason; posts an adapter's parser refused (`Fetch.rejected`) too.
The rest of the page is stored and the cursor moves on. `socialbot check --live` and
`/social status` show each source's count; a human reads `raw` and `reason` to fix the parser.

A post met again (a feed that keeps listing it) is counted (`times`), not stored twice.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import DataError, DBAPIError, StatementError
from sqlalchemy.orm import Session

from bot.kit import models

RAW_MAX = 64 * 1024  # characters of the raw post kept: enough to read, bounded for storage
REASON_MAX = 1000

# What no database stores (NUL, lone surrogates): replaced so the quarantine itself can't fail.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# Errors a post's own values cause (the database refused a value, the scorer or parser
# choked on it); anything else — a locked or unreachable database, a unique-key race — is
# the database's problem and fails the poll to be retried as before.
_DATA_ERRORS = (DataError, ValueError, TypeError, ArithmeticError, LookupError)


def is_poison(exc: BaseException) -> bool:
    """Whether `exc` was caused by the values of the post being stored."""
    if isinstance(exc, DataError):
        return True
    if isinstance(exc, DBAPIError):  # OperationalError, IntegrityError…: not the post's fault
        return False
    if isinstance(exc, StatementError):  # a value our column types could not convert
        return True
    return isinstance(exc, _DATA_ERRORS)


def _clean(text: str, limit: int) -> str:
    return _UNSTORABLE.sub("\ufffd", text[:limit])


def fingerprint(network: str, external_id: str | None, raw: str) -> str:
    key = f"{network}\n{external_id}" if external_id else f"{network}\n\n{raw}"
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def quarantine(session: Session, *, source_id: str | None, network: str,
               external_id: str | None, raw: str, reason: str, stage: str,
               now: datetime) -> None:
    """Keep one post aside, in the caller's transaction (a row per post; counted again)."""
    key = fingerprint(network, external_id, raw)
    row = session.scalars(select(models.QuarantinedPost)
                          .where(models.QuarantinedPost.fingerprint == key)).first()
    if row is not None:
        row.times = models.QuarantinedPost.times + 1  # in SQL: no lost update under races
        row.last_seen_at, row.reason = now, _clean(reason, REASON_MAX)
        return
    session.add(models.QuarantinedPost(
        fingerprint=key, source_id=source_id, network=network,
        external_id=_clean(external_id, 1000) if external_id else None, stage=stage,
        reason=_clean(reason, REASON_MAX), raw=_clean(raw, RAW_MAX), first_seen_at=now,
        last_seen_at=now, times=1))
    session.flush()


@dataclass(frozen=True, slots=True)
class QuarantineCount:
    posts: int
    last_reason: str | None


def quarantined_per_source(session: Session) -> dict[str | None, QuarantineCount]:
    """Source id → quarantined posts and the newest one's reason."""
    q = models.QuarantinedPost
    counts: dict[str | None, int] = {source_id: n for source_id, n in session.execute(
        select(q.source_id, func.count()).group_by(q.source_id))}
    out: dict[str | None, QuarantineCount] = {}
    for source_id, n in counts.items():
        last = session.scalar(select(q.reason).where(
            q.source_id.is_(None) if source_id is None else q.source_id == source_id)
            .order_by(q.last_seen_at.desc(), q.id.desc()).limit(1))
        out[source_id] = QuarantineCount(n, last)
    return out
