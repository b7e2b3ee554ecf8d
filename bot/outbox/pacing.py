"""Client-side pacing: one token bucket per Slack rate-limit scope, and the 429 blocks.

Scopes follow Slack's limits (PLATFORM.md): `chat.postMessage` is limited per channel (about
1/s, short bursts tolerated), so every kind that posts a message counts against its channel;
`chat.update` (Tier 3, ~50/min) and `chat.postEphemeral` (Tier 4, ~100/min) are limited per
method for the workspace, so they have one bucket each.

Buckets live in memory: pacing is about the next few seconds, and a restarted process starts
with full buckets exactly like Slack's own limiter would have refilled meanwhile. Blocks set
by a 429 are also written to the rows (`not_before`) so they survive a restart and are seen by
other replicas; see `OutboxSender`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.outbox import OutboxKind

# chat.postMessage: ~1 message per second per channel, short bursts tolerated.
PER_CHANNEL_RATE = 1.0
PER_CHANNEL_BURST = 3
# Aim this fraction under a channel's limit once the burst is spent. Our clock ticks when a
# round starts; Slack's when the request arrives, a variable few milliseconds later (render,
# commit, network). Paced at exactly 1/s, that jitter alone makes every few posts arrive "too
# early" and earn a 429 (+1 s Retry-After). 5% (50 ms at 1/s) absorbs it.
PACING_HEADROOM = 0.05
# chat.update, Tier 3: ~50 per minute for the workspace. Card updates are collapsed per
# mention before they get here, so this is rarely the bottleneck.
UPDATE_RATE = 50 / 60
UPDATE_BURST = 5
# chat.postEphemeral, Tier 4: ~100 per minute.
EPHEMERAL_RATE = 100 / 60
EPHEMERAL_BURST = 5

TOKEN_EPSILON = 1e-5  # far below one token, above a microsecond's worth of refill

UPDATE_SCOPE = "~chat.update"  # "~": can never collide with a channel id
EPHEMERAL_SCOPE = "~chat.postEphemeral"


def scope_of(kind: str, channel: str) -> str:
    """The rate-limit scope a row of `kind` addressed to `channel` counts against."""
    if kind == OutboxKind.UPDATE:
        return UPDATE_SCOPE
    if kind == OutboxKind.EPHEMERAL:
        return EPHEMERAL_SCOPE
    return channel  # card, thread, digest, alert, dm (a dm's channel is the user's IM)


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    burst: float  # capacity; a bucket starts full
    tokens: float = 0.0
    at: float | None = None  # epoch seconds of the last refill; None: never used (full)

    def _refill(self, now: float) -> None:
        if self.at is None:
            self.tokens, self.at = self.burst, now
        elif now > self.at:  # an injected clock may stand still or (in tests) be re-run
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now

    def available(self, now: float) -> int:
        self._refill(now)
        # Times are datetimes (microseconds): a token due at 9.1052631… s is seen at 9.105263.
        return int(self.tokens + TOKEN_EPSILON)

    def take(self, now: float) -> bool:
        if self.available(now) < 1:
            return False
        self.tokens -= 1
        return True

    def resume_at(self, when: float) -> None:
        """One token at `when`, then the steady rate: right after a 429 a burst would only
        trip Slack's limiter again."""
        self.tokens, self.at = 1.0, when

    def seconds_until_token(self, now: float) -> float:
        """Pure: asking must not move the bucket's clock (`now` may be in the future)."""
        if self.at is None:
            return 0.0
        tokens = min(self.burst, self.tokens + max(0.0, now - self.at) * self.rate)
        return max(0.0, (1 - TOKEN_EPSILON - tokens) / self.rate)


@dataclass
class Pacer:
    """Which scopes may send how many messages at `now` (epoch seconds)."""

    per_channel_rate: float = PER_CHANNEL_RATE  # Slack's limit; we pace `headroom` under it
    per_channel_burst: int = PER_CHANNEL_BURST
    headroom: float = PACING_HEADROOM
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    blocked_until: dict[str, float] = field(default_factory=dict)  # scope -> epoch seconds
    paused_until: float = 0.0  # everything (the token is bad): epoch seconds

    @property
    def max_burst(self) -> int:
        return max(self.per_channel_burst, UPDATE_BURST, EPHEMERAL_BURST)

    def bucket(self, scope: str) -> TokenBucket:
        if scope not in self.buckets:
            if scope == UPDATE_SCOPE:
                self.buckets[scope] = TokenBucket(UPDATE_RATE, UPDATE_BURST)
            elif scope == EPHEMERAL_SCOPE:
                self.buckets[scope] = TokenBucket(EPHEMERAL_RATE, EPHEMERAL_BURST)
            else:
                self.buckets[scope] = TokenBucket(self.per_channel_rate * (1 - self.headroom),
                                                  self.per_channel_burst)
        return self.buckets[scope]

    def blocked_for(self, scope: str, now: float) -> float:
        """Seconds until `scope` may be tried again after a 429 or a pause; 0 if it may."""
        return max(0.0, self.blocked_until.get(scope, 0.0) - now, self.paused_until - now)

    def available(self, scope: str, now: float) -> int:
        if self.blocked_for(scope, now) > 0:
            return 0
        return self.bucket(scope).available(now)

    def take(self, scope: str, now: float) -> bool:
        return self.blocked_for(scope, now) == 0 and self.bucket(scope).take(now)

    def seconds_until(self, scope: str, now: float) -> float:
        """When `scope` can send again: after its block, once a token has refilled."""
        blocked = self.blocked_for(scope, now)
        return max(blocked, self.bucket(scope).seconds_until_token(now + blocked))

    def block(self, scope: str, until: float, now: float) -> None:
        """Slack said 429: nothing for `scope` until `until`, and no burst right after it."""
        self.blocked_until[scope] = max(until, self.blocked_until.get(scope, 0.0))
        self.bucket(scope).resume_at(max(until, now))

    def pause(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)
