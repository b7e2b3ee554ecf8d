"""Queued Slack posts: per-channel rate limit, most urgent first, retries, digests, exactly once.

    sender.py   OutboxSender: the rounds, outcomes of calls, verification, the background loop
    slack.py    row → Slack call, the metadata on every post, finding a post again
    queue.py    the SQL: eligible rows, claiming (SKIP LOCKED), folding, collapsing, metrics
    pacing.py   token buckets per rate-limit scope, 429 blocks
    errors.py   what a failed Slack call means: rate limited, transient, permanent
    parking.py  rows held behind an error only a person can fix, resumed on SIGHUP/start or by a probe
    tuning.py   the thresholds (digest, retries, leases), each with its reason

Rows are written by others (ingest queues a `card` per new mention, the desk queues `update`
and `thread` rows); after committing, a writer in the same process may call
`OutboxSender.wake()` so the row goes out now instead of at the next poll.
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot.outbox.sender import OutboxSender, Render
from bot.outbox.slack import CARD_EVENT, POST_EVENT
from bot.outbox.tuning import DIGEST_EVERY, DIGEST_THRESHOLD, FOLDABLE_PRIORITIES, MAX_ATTEMPTS

SLACK_TIMEOUT_SECONDS = 30  # well under tuning.LEASE: a call in flight is never "unowned"


def sender_client(token: str, base_url: str = WebClient.BASE_URL,
                  timeout: int = SLACK_TIMEOUT_SECONDS) -> WebClient:
    """The WebClient the sender needs: no slack-sdk retry handlers (see OutboxSender)."""
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])


__all__ = ["CARD_EVENT", "DIGEST_EVERY", "DIGEST_THRESHOLD", "FOLDABLE_PRIORITIES",
           "MAX_ATTEMPTS", "POST_EVENT", "OutboxSender", "Render", "sender_client"]
