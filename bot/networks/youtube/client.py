"""What the YouTube source and the YouTube publisher share: the API client, quota units and
reading the API's errors.

`build_youtube` builds the `youtube` v3 client from the discovery document shipped inside
google-api-python-client (`static_discovery=True`: no request to fetch it), authorised by the
brand's OAuth refresh token (YOUTUBE_CLIENT_ID, YOUTUBE_CLIENT_SECRET, YOUTUBE_REFRESH_TOKEN;
scope `youtube.force-ssl`), on httplib2 with a timeout. Calls are made with the library's
default of no retries: a repeated `comments.insert` could post twice.

Quota: every project has 10,000 units a day by default, reset at midnight Pacific time;
`commentThreads.list`, `comments.list` and `channels.list` cost 1 unit, `comments.insert` 50.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httplib2
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from bot.config import Settings
from bot.networks.guarded_http import REQUEST_DEADLINE, GuardedHttp

REQUEST_TIMEOUT = 20  # seconds
SCOPES = ["https://www.googleapis.com/auth/youtube.force-ssl"]
LIST_UNITS = 1  # commentThreads.list, comments.list, channels.list
INSERT_UNITS = 50  # comments.insert
QUOTA_ZONE = ZoneInfo("America/Los_Angeles")  # the daily quota resets at midnight here
QUOTA_REASONS = ("quotaExceeded", "dailyLimitExceeded")
RATE_REASONS = ("rateLimitExceeded", "userRateLimitExceeded")


def build_youtube(settings: Settings, *, http: httplib2.Http | None = None) -> Any:
    """The `youtube` v3 client as the brand (no request is made until it is used)."""
    credentials = Credentials(
        None, refresh_token=settings.secret("YOUTUBE_REFRESH_TOKEN"),
        client_id=settings.secret("YOUTUBE_CLIENT_ID"),
        client_secret=settings.secret("YOUTUBE_CLIENT_SECRET"),
        token_uri=settings.YOUTUBE_TOKEN_URL, scopes=SCOPES)
    authorized = AuthorizedHttp(credentials, http=http or GuardedHttp(
        REQUEST_DEADLINE, timeout=REQUEST_TIMEOUT))  # a whole request ends in time
    return build("youtube", "v3", http=authorized, static_discovery=True,
                 cache_discovery=False, client_options={"api_endpoint": settings.YOUTUBE_API_URL})


def error_reason(exc: HttpError) -> str:
    """The API's `reason` of an error (`quotaExceeded`, `commentNotFound`…), else ""."""
    try:
        body = json.loads(exc.content.decode("utf-8", "replace"))
    except (ValueError, AttributeError):
        return ""
    errors = body.get("error", {}).get("errors") or [] if isinstance(body, dict) else []
    return str(errors[0].get("reason", "")) if errors and isinstance(errors[0], dict) else ""


def error_status(exc: HttpError) -> int:
    return int(getattr(exc.resp, "status", 0) or 0)


def quota_reset(now: datetime) -> datetime:
    """The next midnight in Pacific time, when YouTube restores the daily quota."""
    local = now.astimezone(QUOTA_ZONE)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(now.tzinfo)


def watch_url(video_id: str, comment_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}"
