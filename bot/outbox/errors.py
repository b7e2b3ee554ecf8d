"""What a failed Slack call means for the outbox row: wait, retry later, or give up.

- `RateLimited`: HTTP 429 (or `ok: false, error: ratelimited`). Not a failure: the row waits
  `Retry-After` seconds and its scope is blocked that long.
- `Transient`: 5xx, Slack's own "try again" codes, and connection errors. Retried with
  capped exponential backoff for as long as the row matters (bot.outbox.tuning). For a post,
  the message may have gone out anyway (the answer can be lost after Slack stored it), so the
  row is verified before it is retried.
- `Permanent`: every other `ok: false` answer (channel_not_found, not_in_channel,
  invalid_auth, invalid_blocks, …). Slack's error codes are deterministic: retrying the same
  call gives the same answer. An error of the channel, the token or the app's scopes parks the
  rows it concerns until a person fixes it (bot.outbox.parking); any other fails the row at
  once and keeps the error for /social status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from http.client import HTTPException

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain import waits

DEFAULT_RETRY_AFTER = 1.0  # Slack always sends Retry-After; this covers a missing/garbled one

RATE_LIMIT_CODES = frozenset({"ratelimited", "rate_limited"})
TRANSIENT_CODES = frozenset({"internal_error", "fatal_error", "service_unavailable",
                             "request_timeout"})
# The token itself is unusable: every call would fail the same way, so the sender pauses.
AUTH_CODES = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired",
                        "account_inactive"})

# What to do about an error that fails every row like it (logged once per scope and code).
# The rows wait, parked (bot.outbox.parking), until the fix is made and the rules reloaded.
HINTS = {
    "channel_not_found": "the channel does not exist or the bot cannot see it; check the "
                         "team's channel in the rules file, then reload (SIGHUP)",
    "not_in_channel": "invite the bot to the channel (/invite @socialbot), then reload "
                      "(SIGHUP)",
    "is_archived": "the channel is archived; unarchive it or point the team at another "
                   "channel, then reload (SIGHUP)",
    "invalid_auth": "SLACK_BOT_TOKEN is not valid; set a valid one and restart",
    "not_authed": "no Slack token was sent; set SLACK_BOT_TOKEN and restart",
    "token_revoked": "the bot token was revoked (app uninstalled?); reinstall, set the new "
                     "SLACK_BOT_TOKEN and restart",
    "token_expired": "the bot token expired; set a new SLACK_BOT_TOKEN and restart",
    "account_inactive": "the bot's account is deactivated; reinstall the app and restart",
    "missing_scope": "the app lacks a scope (see slack_manifest.yaml) and must be "
                     "reinstalled; then restart",
}


@dataclass(frozen=True)
class RateLimited:
    retry_after: float  # seconds
    message: str


@dataclass(frozen=True)
class Transient:
    message: str


@dataclass(frozen=True)
class Permanent:
    code: str
    message: str

    @property
    def bad_token(self) -> bool:
        return self.code in AUTH_CODES


Outcome = RateLimited | Transient | Permanent

# What a Slack call can raise besides SlackApiError: urllib's URLError, socket timeouts,
# connection resets (OSError) and a connection closed mid-answer (http.client).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError, HTTPException)
SLACK_CALL_ERRORS: tuple[type[BaseException], ...] = (SlackClientError, *CONNECTION_ERRORS)


def retry_after(headers: object) -> float:
    """`Retry-After` in seconds from a SlackResponse's headers (a dict, any key case)."""
    if isinstance(headers, dict):
        for key, value in headers.items():
            if str(key).lower() == "retry-after":
                if isinstance(value, list | tuple):
                    value = value[0] if value else None
                return waits.seconds(value, default=timedelta(seconds=DEFAULT_RETRY_AFTER),
                                     what="Slack (Retry-After)").total_seconds()
    return DEFAULT_RETRY_AFTER


def classify(exc: BaseException) -> Outcome:
    if isinstance(exc, SlackApiError):
        resp = exc.response
        status = getattr(resp, "status_code", 200)
        data = getattr(resp, "data", None)
        code = str(data.get("error") or "") if isinstance(data, dict) else ""
        if status == 429 or code in RATE_LIMIT_CODES:
            wait = retry_after(getattr(resp, "headers", None))
            return RateLimited(wait, f"rate limited (Retry-After {wait:g}s)")
        if status >= 500 or code in TRANSIENT_CODES:
            return Transient(f"HTTP {status} {code or 'server error'}".strip())
        return Permanent(code or f"http_{status}", f"{code or 'error'} (HTTP {status})")
    if isinstance(exc, CONNECTION_ERRORS):
        return Transient(f"connection error: {type(exc).__name__}: {exc}")
    # SlackRequestError & co: the request could not even be built. Same answer every time.
    return Permanent(type(exc).__name__, f"{type(exc).__name__}: {exc}")


def error_code(outcome: Outcome) -> str:
    """A short label for metrics: Slack's error code, `ratelimited`, `http_5xx` or
    `connection` (few distinct values, as a Prometheus label must have)."""
    if isinstance(outcome, RateLimited):
        return "ratelimited"
    if isinstance(outcome, Transient):
        return "http_5xx" if outcome.message.startswith("HTTP") else "connection"
    return outcome.code
