"""The outbox's thresholds, in one place. Each says why it has the value it has."""

from __future__ import annotations

from datetime import timedelta

# --- flood → digest ------------------------------------------------------------------------
# A channel is flooded when more than this many foldable cards wait in it: at Slack's 1 msg/s
# that is half a minute of nothing but cards, more than a team can read one by one anyway.
DIGEST_THRESHOLD = 30
# At most one digest per channel this often: a flood becomes a periodic summary, not a new
# stream of digests. Meanwhile the channel's foldable cards wait for the next digest.
DIGEST_EVERY = timedelta(minutes=5)
# Only the less urgent cards fold. P1/P2 always get their own card, whatever the flood.
FOLDABLE_PRIORITIES = ("P3", "P4")

# --- retries -------------------------------------------------------------------------------
# 5xx and connection errors: 2 s, 4 s, 8 s, … between attempts, capped at BACKOFF_MAX, and a
# row is never given up while it still matters: the card (update, thread reply) of an open
# mention is retried for as long as the mention is open, any other row for RETRY_FOR. A Slack
# outage therefore delays cards, it never loses them (issue 18: 75 s of 500s used to fail
# every card for good after 5 attempts). No jitter: each row has a single claimer, and
# per-channel pacing already spreads the retries of a channel.
MAX_ATTEMPTS = 5  # only ephemeral notes stop here: one seen minutes late helps nobody
BACKOFF_BASE = timedelta(seconds=2)
# Once Slack is back, a waiting card goes out within a minute; a longer outage costs one
# attempt (and one look in the channel) per row and minute, within the channel's pace.
BACKOFF_MAX = timedelta(minutes=1)
# Rows about no open mention (digests, alerts, reports, files, updates of closed cards): a
# day is long enough to outlast any Slack incident, short enough that stale news isn't posted.
RETRY_FOR = timedelta(days=1)
# How far back /social status, /metrics and /healthz count failed rows.
FAILED_RECENT = timedelta(days=1)

# --- parked rows ---------------------------------------------------------------------------
# Rows parked behind an error only a person can fix (bot.outbox.parking) are tried again on
# their own this long after parking, so a channel fixed without a SIGHUP (the bot invited, the
# channel unarchived) resumes without an operator: one call per probe (the rest of the scope's
# rows claimed with it are parked again without a call). Each probe Slack still refuses
# doubles the wait, up to PROBE_MAX: a channel nobody fixes costs 2 calls an hour.
PROBE_FIRST = timedelta(minutes=10)
PROBE_MAX = timedelta(minutes=30)

# --- exactly once --------------------------------------------------------------------------
# A claimed row is `sending` with `not_before` = claim time + LEASE. A `sending` row whose
# lease ran out belongs to nobody (its sender crashed, or its call failed with an unknown
# outcome): it is verified against Slack, never re-posted blindly. Must exceed the Slack
# client's timeout (slack-sdk's default is 30 s), or a slow call could be verified mid-flight.
LEASE = timedelta(minutes=2)
# Verification itself failed (Slack down): try again after this long.
VERIFY_RETRY = timedelta(seconds=30)
# Slack's clock and ours differ: look for our message from a little before the row existed.
RECONCILE_SKEW = timedelta(minutes=5)
# conversations.history pages (200 messages each) searched before giving up on verifying a
# row; giving up fails the row (a human checks) rather than risk a second post.
RECONCILE_MAX_PAGES = 50
# files.completeUploadExternal shares the file asynchronously (Slack scans it first), so its
# message can reach the channel after the answer: a file whose upload outcome is unknown is
# looked for in the channel no sooner than this, or a late share could be uploaded twice.
FILE_SHARE_DELAY = timedelta(minutes=1)
# Rows verified per round: conversations.history is Tier 3 (~50/min).
RECONCILE_BATCH = 20

# --- the loop ------------------------------------------------------------------------------
# Longest sleep when nothing is due: rows queued by another process (no wake-up) are seen
# within this time.
IDLE_POLL_SECONDS = 5.0
# Rows claimed per round: bounds a round's duration and the rows released if it is cut short.
MAX_BATCH = 50
# After an unexpected error (database down) the loop retries after this long.
ERROR_PAUSE_SECONDS = 5.0


def backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt (1-based)."""
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, attempts - 1))


def probe_wait(previous: timedelta | None) -> timedelta:
    """Wait before probing a parked scope again, after waiting `previous` (None: just parked)."""
    return PROBE_FIRST if previous is None else min(PROBE_MAX, previous * 2)
