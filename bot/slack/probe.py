"""Can the bot use Slack with the tokens it has? For `check` and before `run` serves anything.

`auth.test` with the bot token and, in Socket Mode, `apps.connections.open` with the app token
(it only hands out a WebSocket URL; nothing connects to it), each with a short timeout. Every
problem is one line naming the setting and the fix."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.kit.preflight import first_line

TIMEOUT_SECONDS = 5
# slack_sdk logs each failed request at ERROR; here a failure is the answer, said in one line.
_QUIET = logging.getLogger(__name__ + ".client")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False

_REFUSED = {
    "invalid_auth": "Slack does not know this token",
    "not_authed": "Slack got no token",
    "token_revoked": "the token was revoked",
    "token_expired": "the token expired",
    "account_inactive": "the app was uninstalled or its user deactivated",
    "missing_scope": "the token lacks the scope this call needs",
    "not_allowed_token_type": "Slack refuses this kind of token here",
}
BOT_TOKEN_FIX = ("copy the Bot User OAuth Token (xoxb-…) again from the app's OAuth & "
                 "Permissions page, reinstalling the app if it was removed")
APP_TOKEN_FIX = ("create an app-level token with the connections:write scope under the app's "
                 "Basic Information → App-Level Tokens, and turn Socket Mode on")


def _refused(setting: str, error: str, fix: str) -> str:
    why = _REFUSED.get(error, "Slack refused it")
    return f"{setting}: {why} ({error}); {fix}"


def slack_problems(settings: Settings, *, socket_mode: bool,
                   timeout: int = TIMEOUT_SECONDS) -> list[str]:
    """What stops the bot from using Slack, asked of Slack itself; [] when nothing does.
    Assumes the tokens are set and of the right kind (`Settings.slack_setting_problems`)."""
    client = WebClient(token=settings.secret("SLACK_BOT_TOKEN"),
                       base_url=settings.SLACK_API_URL, timeout=timeout, logger=_QUIET,
                       retry_handlers=[])
    try:
        client.auth_test()
    except SlackApiError as exc:
        return [_refused("SLACK_BOT_TOKEN", str(exc.response.get("error")), BOT_TOKEN_FIX)]
    except Exception as exc:  # DNS, refused, timeout, TLS: the network, not the token
        return [f"SLACK_API_URL: cannot reach {settings.SLACK_API_URL} ({_reason(exc)}); "
                "check the network, a proxy (HTTPS_PROXY) or SLACK_API_URL"]
    if not socket_mode:
        return []
    app = WebClient(token=settings.secret("SLACK_APP_TOKEN"), base_url=settings.SLACK_API_URL,
                    timeout=timeout, logger=_QUIET, retry_handlers=[])
    try:
        app.apps_connections_open(app_token=settings.secret("SLACK_APP_TOKEN"))
    except SlackApiError as exc:
        return [_refused("SLACK_APP_TOKEN", str(exc.response.get("error")), APP_TOKEN_FIX)]
    except Exception as exc:
        return [f"SLACK_API_URL: cannot reach {settings.SLACK_API_URL} ({_reason(exc)}); "
                "check the network, a proxy (HTTPS_PROXY) or SLACK_API_URL"]
    return []


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {first_line(getattr(exc, 'reason', None) or exc)}"
