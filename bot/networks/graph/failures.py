"""A `GraphError` as the bot's source and publisher errors, the same for Facebook, Instagram
and Threads (they share Meta's error codes).

Sources: throttled (4/17/32/613, business use case limits, 429) → `RateLimited` until Meta's
estimate of regained access, else THROTTLE_WAIT; the token expired or revoked (190) →
`SourceAuthError` naming the variable and the fix, which parks the source and shows in
`socialbot check --live`; missing permission → `SourceAuthError`; anything else (5xx, no
answer, a transient code) → `SourceUnavailable` (backoff).

Publishers: throttled → unavailable (nothing was made); token or permission → auth; the object
gone → rejected; another 4xx (too long, blocked as spam…) → rejected; a connection never made
→ unavailable; a 5xx or no answer after a write was sent → maybe_sent (reconcile looks it up).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.networks.base import PublishError, RateLimited, SourceAuthError, SourceUnavailable
from bot.networks.gaps import TokenRefused
from bot.networks.graph.client import GraphError
from bot.networks.graph.usage import UsageMeter

THROTTLE_WAIT = timedelta(minutes=15)  # Meta's windows roll over an hour; no estimate given


def check_cursor(error: GraphError, after: str | None, network: str) -> None:
    """Raise `TokenRefused` when Meta refused the `after` cursor of a gap's page (expired, or the
    edge changed under it): the gap is read again from the newest page (bot.networks.gaps)."""
    if after is not None and error.cursor_refused:
        raise TokenRefused(f"{network}: {error.detail}") from error


def source_error(error: GraphError, *, where: str, token: str, now: datetime,
                 usage: UsageMeter) -> RateLimited | SourceAuthError | SourceUnavailable:
    if error.throttled:
        until = usage.wait_until(now) or now + THROTTLE_WAIT
        return RateLimited(max(until, now + timedelta(minutes=1)),
                           f"{where}: Meta throttled the app ({error.detail})")
    if error.token_expired:
        return SourceAuthError(
            f"{where}: the access token expired or was revoked ({error.detail}); make a new "
            f"long-lived token (README, Meta setup), put it in {token} and reload (SIGHUP)")
    if error.denied:
        return SourceAuthError(f"{where}: access refused ({error.detail}); check {token} and "
                               "the app's permissions (README, Meta setup)")
    return SourceUnavailable(f"{where}: {error.detail}")


def publish_error(error: GraphError, *, what: str, network: str, write: bool) -> PublishError:
    """`write`: the call creates something (a reply), so an unanswered one may have landed."""
    if error.throttled:
        return PublishError("unavailable", f"{network}: Meta throttled the {what}: "
                            f"{error.detail}")
    if error.token_expired or error.denied:
        return PublishError("auth", f"{network} refused the {what}: {error.detail}")
    if error.gone:
        return PublishError("rejected", f"{network}: it is gone (deleted, or hidden from us): "
                            f"{error.detail}")
    if error.client_error:
        return PublishError("rejected", f"{network} rejected the {what}: {error.detail}")
    if error.never_sent or not write:
        return PublishError("unavailable", f"{network} {what} failed: {error.detail}")
    return PublishError("maybe_sent", f"{network} {what}: no clear answer ({error.detail})")
