"""Settings from the environment (and an optional `.env`), names as in ARCHITECTURE.md."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Which env vars each kind of source needs; `check` and `run` report the missing ones by name.
SOURCE_CREDENTIALS: dict[str, tuple[tuple[str, ...], ...]] = {
    # X: app-only bearer for reading, or user-context keys (needed anyway to reply).
    "x_mentions": (("X_BEARER_TOKEN",), ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN",
                                         "X_ACCESS_TOKEN_SECRET")),
    "x_search": (("X_BEARER_TOKEN",), ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN",
                                       "X_ACCESS_TOKEN_SECRET")),
    "mastodon_mentions": (("MASTODON_API_BASE_URL", "MASTODON_ACCESS_TOKEN"),),
    "bluesky_search": (("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),),
    "bluesky_mentions": (("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),),
    "rss": ((),),
    # Reddit: a "script" app with the brand account's password, or any app's refresh token.
    "reddit_mentions": (("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_REFRESH_TOKEN"),
                        ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USERNAME",
                         "REDDIT_PASSWORD")),
    "reddit_search": (("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_REFRESH_TOKEN"),
                      ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USERNAME",
                       "REDDIT_PASSWORD")),
    "youtube_comments": (("YOUTUBE_CLIENT_ID", "YOUTUBE_CLIENT_SECRET",
                          "YOUTUBE_REFRESH_TOKEN"),),
}


# Which env vars replying on each network needs (None: the network has no reply channel).
REPLY_CREDENTIALS: dict[str, tuple[str, ...] | None] = {
    "x": ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"),
    "mastodon": ("MASTODON_API_BASE_URL", "MASTODON_ACCESS_TOKEN"),
    "bluesky": ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),
    "rss": None,
    "reddit": None,  # as the sources: see reply_readiness
    "youtube": ("YOUTUBE_CLIENT_ID", "YOUTUBE_CLIENT_SECRET", "YOUTUBE_REFRESH_TOKEN"),
}


class MissingSetting(Exception):
    """A required environment variable is not set; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      case_sensitive=True)

    SLACK_BOT_TOKEN: SecretStr | None = None
    SLACK_SIGNING_SECRET: SecretStr | None = None
    SLACK_APP_TOKEN: SecretStr | None = None
    SLACK_API_URL: str = "https://slack.com/api/"
    DATABASE_URL: str = "sqlite:///socialbot.db"
    SOCIALBOT_RULES: str = "./routing_rules.yaml"
    X_BEARER_TOKEN: SecretStr | None = None
    X_API_KEY: SecretStr | None = None
    X_API_SECRET: SecretStr | None = None
    X_ACCESS_TOKEN: SecretStr | None = None
    X_ACCESS_TOKEN_SECRET: SecretStr | None = None
    MASTODON_API_BASE_URL: str | None = None
    MASTODON_ACCESS_TOKEN: SecretStr | None = None
    BLUESKY_HANDLE: str | None = None
    BLUESKY_APP_PASSWORD: SecretStr | None = None
    REDDIT_CLIENT_ID: str | None = None
    REDDIT_CLIENT_SECRET: SecretStr | None = None
    REDDIT_REFRESH_TOKEN: SecretStr | None = None
    REDDIT_USERNAME: str | None = None
    REDDIT_PASSWORD: SecretStr | None = None
    REDDIT_OAUTH_URL: str = "https://oauth.reddit.com"  # API calls (tests: a local fake)
    REDDIT_WWW_URL: str = "https://www.reddit.com"  # token endpoint (tests: a local fake)
    YOUTUBE_CLIENT_ID: str | None = None
    YOUTUBE_CLIENT_SECRET: SecretStr | None = None
    YOUTUBE_REFRESH_TOKEN: SecretStr | None = None
    YOUTUBE_API_URL: str = "https://youtube.googleapis.com/"  # tests: a local fake
    YOUTUBE_TOKEN_URL: str = "https://oauth2.googleapis.com/token"  # tests: a local fake
    LOG_LEVEL: str = Field(default="INFO")
    # `json`: one JSON object per log line (for log shippers); `text`: human-readable lines.
    SOCIALBOT_LOG_FORMAT: Literal["text", "json"] = "text"
    # Socket Mode has no HTTP server: this port serves GET /healthz and /metrics only (the
    # container's HEALTHCHECK). HTTP mode serves them on its own port.
    SOCIALBOT_HEALTH_PORT: int | None = None

    def is_set(self, name: str) -> bool:
        value = getattr(self, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return bool(value and str(value).strip())

    def secret(self, name: str) -> str:
        """The value of a required setting, or `MissingSetting` naming it."""
        if not self.is_set(name):
            raise MissingSetting(f"{name} is not set (environment or .env)")
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) else str(value)

    def missing_for_source(self, source_type: str) -> list[str]:
        """[] when one of the credential sets for this kind of source is complete, else the
        names missing from the first (preferred) set."""
        options = SOURCE_CREDENTIALS.get(source_type, ((),))
        for names in options:
            if all(self.is_set(n) for n in names):
                return []
        return [n for n in options[0] if not self.is_set(n)]

    def reply_readiness(self, network: str) -> str | None:
        """"possible", or "not possible, missing A, B" for `socialbot check`; None when the
        network has no reply channel (RSS)."""
        if network == "reddit":  # the same account the sources read with
            missing = self.missing_for_source("reddit_mentions")
        elif network in REPLY_CREDENTIALS and REPLY_CREDENTIALS[network] is not None:
            missing = [n for n in REPLY_CREDENTIALS[network] or () if not self.is_set(n)]
        else:
            return None
        return f"not possible, missing {', '.join(missing)}" if missing else "possible"

    def missing_for_slack(self, *, socket_mode: bool) -> list[str]:
        need = ["SLACK_BOT_TOKEN"] + (["SLACK_APP_TOKEN"] if socket_mode else
                                      ["SLACK_SIGNING_SECRET"])
        return [n for n in need if not self.is_set(n)]
