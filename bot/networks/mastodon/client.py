"""What the Mastodon source and the Mastodon publisher share: the Mastodon.py client and
reading what it returns and raises.

`build_mastodon` makes the client for MASTODON_API_BASE_URL with MASTODON_ACCESS_TOKEN; it never
sleeps on a rate limit (`ratelimit_method="throw"`) and makes no request until it is used.
`value_of` reads a field of a Mastodon.py result (an `AttribAccessDict`, a plain dict or an
entity object); `error_status` and `error_detail` read the HTTP status and the server's message
off a Mastodon.py error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from mastodon import Mastodon

from bot import __version__
from bot.config import Settings
from bot.networks.guarded_http import REQUEST_DEADLINE, GuardedSession

REQUEST_TIMEOUT = 20.0
USER_AGENT = f"socialbot/{__version__}"


def build_mastodon(settings: Settings, *, timeout: float = REQUEST_TIMEOUT,
                   session: requests.Session | None = None) -> Mastodon:
    """A Mastodon.py client for MASTODON_API_BASE_URL with MASTODON_ACCESS_TOKEN. It never sleeps
    on a rate limit (`throw`) and makes no request until the first poll."""
    return Mastodon(
        api_base_url=settings.secret("MASTODON_API_BASE_URL"),
        access_token=settings.secret("MASTODON_ACCESS_TOKEN"),
        request_timeout=timeout,
        ratelimit_method="throw",
        version_check_mode="none",
        session=session or GuardedSession(REQUEST_DEADLINE),
        user_agent=USER_AGENT,
    )


def value_of(obj: Any, key: str, default: Any = None) -> Any:
    """`obj[key]` or `obj.key`, and `default` when it is missing or None."""
    value = obj.get(key, default) if isinstance(obj, Mapping) else getattr(obj, key, default)
    return default if value is None else value


def error_status(exc: Exception) -> int | str | None:
    """The HTTP status of a Mastodon.py API error, None when it carries none."""
    # Mastodon.py raises ('Mastodon API returned error', status, reason, message).
    return exc.args[1] if len(exc.args) > 1 else None


def error_detail(exc: Exception) -> str:
    """The server's message (else the reason) of a Mastodon.py API error."""
    if len(exc.args) >= 4:
        return str(exc.args[3] or exc.args[2])
    return str(exc)
