"""Settings from the environment (and an optional `.env`), names as in ARCHITECTURE.md."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, SecretStr, field_validator
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
    "google_play_reviews": (("GOOGLE_PLAY_SERVICE_ACCOUNT_JSON",),),
    # Meta: a long-lived Page access token (the Page's id is in the rules file).
    "facebook_page": (("META_PAGE_ACCESS_TOKEN",),),
    # App Store Connect: the team key's id, the issuer, and the .p8 key as text or as a path.
    "app_store_reviews": (("APP_STORE_KEY_ID", "APP_STORE_ISSUER_ID", "APP_STORE_PRIVATE_KEY"),
                          ("APP_STORE_KEY_ID", "APP_STORE_ISSUER_ID",
                           "APP_STORE_PRIVATE_KEY_PATH")),
    # Instagram: the token of the Page the professional account is linked to.
    "instagram": (("META_PAGE_ACCESS_TOKEN",),),
    # Threads: a long-lived Threads user token (search also needs threads_keyword_search).
    "threads_mentions": (("THREADS_ACCESS_TOKEN",),),
    "threads_search": (("THREADS_ACCESS_TOKEN",),),
}


# Which env vars replying on each network needs (None: the network has no reply channel).
REPLY_CREDENTIALS: dict[str, tuple[str, ...] | None] = {
    "x": ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"),
    "mastodon": ("MASTODON_API_BASE_URL", "MASTODON_ACCESS_TOKEN"),
    "bluesky": ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),
    "rss": None,
    "reddit": None,  # as the sources: see reply_readiness
    "youtube": ("YOUTUBE_CLIENT_ID", "YOUTUBE_CLIENT_SECRET", "YOUTUBE_REFRESH_TOKEN"),
    # The service account also needs "Reply to reviews" in Play Console: only a send shows it.
    "google_play": ("GOOGLE_PLAY_SERVICE_ACCOUNT_JSON",),
    # The Page token also needs pages_manage_engagement: only a send shows it.
    "facebook": ("META_PAGE_ACCESS_TOKEN",),
    # As the sources (one key reads and answers; its role must allow answering): see
    # reply_readiness.
    "app_store": None,
    "instagram": ("META_PAGE_ACCESS_TOKEN",),  # instagram_manage_comments: only a send shows it
    "threads": ("THREADS_ACCESS_TOKEN",),  # threads_manage_replies: only a send shows it
}


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TOKEN_KINDS = {"xoxb-": "a bot token", "xoxp-": "a user token", "xapp-": "an app-level token",
                "xoxe": "a refresh token", "xoxa-": "a workspace app token"}


class SettingProblem(Exception):
    """A setting stops the bot from starting; the message names it and says how to fix it."""


class MissingSetting(SettingProblem):
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
    X_API_URL: str = "https://api.twitter.com"  # tests: a local fake
    MASTODON_API_BASE_URL: str | None = None
    MASTODON_ACCESS_TOKEN: SecretStr | None = None
    BLUESKY_HANDLE: str | None = None
    BLUESKY_APP_PASSWORD: SecretStr | None = None
    # Where createSession goes (a saved session names its own PDS); tests: a local fake.
    BLUESKY_API_URL: str = "https://bsky.social"
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
    # Google Play: the service account's JSON key (its text, or the path of the file).
    GOOGLE_PLAY_SERVICE_ACCOUNT_JSON: SecretStr | None = None
    GOOGLE_PLAY_API_URL: str = "https://androidpublisher.googleapis.com/"  # tests: a local fake
    # Meta (Facebook Page, Instagram). The Graph API version is pinned here, the one
    # place: override it when Meta retires it before a release of socialbot moves it on.
    META_PAGE_ACCESS_TOKEN: SecretStr | None = None
    META_APP_SECRET: SecretStr | None = None  # appsecret_proof; webhook signatures
    META_WEBHOOK_VERIFY_TOKEN: SecretStr | None = None  # answers Meta's subscription check
    META_GRAPH_API_VERSION: str = "v23.0"
    META_GRAPH_API_URL: str = "https://graph.facebook.com"  # tests: a local fake
    # App Store Connect: a team API key (Users and Access → Integrations → Team Keys).
    APP_STORE_KEY_ID: str | None = None
    APP_STORE_ISSUER_ID: str | None = None
    APP_STORE_PRIVATE_KEY: SecretStr | None = None  # the AuthKey_….p8 file's PEM text
    APP_STORE_PRIVATE_KEY_PATH: str | None = None  # or the path of that file
    APP_STORE_API_URL: str = "https://api.appstoreconnect.apple.com/"  # tests: a local fake
    # Threads: a long-lived Threads user token; the Threads API's version, pinned like Meta's.
    THREADS_ACCESS_TOKEN: SecretStr | None = None
    THREADS_API_VERSION: str = "v1.0"
    THREADS_API_URL: str = "https://graph.threads.net"  # tests: a local fake
    LOG_LEVEL: str = Field(default="INFO")
    # `json`: one JSON object per log line (for log shippers); `text`: human-readable lines.
    SOCIALBOT_LOG_FORMAT: Literal["text", "json"] = "text"
    # Socket Mode has no HTTP server: this port serves GET /healthz and /metrics only (the
    # container's HEALTHCHECK). HTTP mode serves them on its own port.
    SOCIALBOT_HEALTH_PORT: int | None = None

    @field_validator("LOG_LEVEL")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
        return value.strip().upper()

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
        names missing from the set closest to complete (the first, preferred, one when none
        is started): only X_API_KEY set asks for the other user-context keys."""
        options = SOURCE_CREDENTIALS.get(source_type, ((),))
        for names in options:
            if all(self.is_set(n) for n in names):
                return []
        started = [names for names in options if any(self.is_set(n) for n in names)]
        closest = min(started, key=lambda names: sum(not self.is_set(n) for n in names),
                      default=options[0])
        return [_or_alternatives(n, closest, options) for n in closest if not self.is_set(n)]

    def value_problems(self) -> list[str]:
        """Settings that are set but cannot work, one line each."""
        problems = []
        base = self.MASTODON_API_BASE_URL
        if base and base.strip():
            parsed = urlparse(base.strip())
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                problems.append(f"MASTODON_API_BASE_URL: {base!r} is not a URL; use the "
                                "instance's address, e.g. https://mastodon.social")
        problems += self._app_store_key_problems()
        return problems

    def _app_store_key_problems(self) -> list[str]:
        """The App Store key's shape (a `.p8` is PEM text) and its file: caught by `check`
        rather than at the first poll. Whether the key signs is seen when it is used."""
        if self.is_set("APP_STORE_PRIVATE_KEY"):
            text = self.secret("APP_STORE_PRIVATE_KEY")
            if "-----BEGIN PRIVATE KEY-----" not in text.replace("\\n", "\n"):
                return ["APP_STORE_PRIVATE_KEY: not the text of a .p8 key (it starts with "
                        "-----BEGIN PRIVATE KEY-----); or set APP_STORE_PRIVATE_KEY_PATH to "
                        "the file"]
        elif self.is_set("APP_STORE_PRIVATE_KEY_PATH"):
            path = Path(self.secret("APP_STORE_PRIVATE_KEY_PATH").strip()).expanduser()
            if not path.is_file():
                return [f"APP_STORE_PRIVATE_KEY_PATH: no such file {path} (the AuthKey_….p8 "
                        "App Store Connect let you download)"]
        return []

    def reply_readiness(self, network: str) -> str | None:
        """"possible", or "not possible, missing A, B" for `socialbot check`; None when the
        network has no reply channel (RSS)."""
        if network == "reddit":  # the same account the sources read with
            missing = self.missing_for_source("reddit_mentions")
        elif network == "app_store":  # the same key the sources read with
            missing = self.missing_for_source("app_store_reviews")
            if not missing:
                return "possible (if the key's role may answer reviews: Customer Support, " \
                       "App Manager or Admin)"
        elif network in REPLY_CREDENTIALS and REPLY_CREDENTIALS[network] is not None:
            missing = [n for n in REPLY_CREDENTIALS[network] or () if not self.is_set(n)]
        else:
            return None
        return f"not possible, missing {', '.join(missing)}" if missing else "possible"

    def slack_setting_problems(self, *, http: bool) -> list[str]:
        """Missing or wrong-kind Slack settings for the mode `run` would start in: Socket
        Mode when SLACK_APP_TOKEN is set and `http` is not asked for, else HTTP."""
        problems = []
        if not self.is_set("SLACK_BOT_TOKEN"):
            problems.append("SLACK_BOT_TOKEN is not set (environment or .env)")
        else:
            problems += _token_kind("SLACK_BOT_TOKEN", self.secret("SLACK_BOT_TOKEN"), "xoxb-",
                                    "the Bot User OAuth Token from the app's OAuth & Permissions")
        if not http and self.is_set("SLACK_APP_TOKEN"):
            problems += _token_kind("SLACK_APP_TOKEN", self.secret("SLACK_APP_TOKEN"), "xapp-",
                                    "an app-level token from Basic Information → App-Level Tokens")
        elif not self.is_set("SLACK_SIGNING_SECRET"):
            problems.append(
                "SLACK_SIGNING_SECRET is not set (environment or .env): HTTP mode checks Slack's "
                "requests with it (the app's Basic Information → Signing Secret)" if http else
                "SLACK_APP_TOKEN is not set (environment or .env): Socket Mode, the manifest's "
                "default, needs an app-level token with connections:write (Basic Information → "
                "App-Level Tokens); for HTTP mode set SLACK_SIGNING_SECRET and run with --http")
        return problems



def _or_alternatives(name: str, chosen: tuple[str, ...],
                     options: tuple[tuple[str, ...], ...]) -> str:
    """`name`, with the variables that can stand in for it alone (`APP_STORE_PRIVATE_KEY (or
    APP_STORE_PRIVATE_KEY_PATH)`): sets that differ from `chosen` only there."""
    others = [alt for names in options if names != chosen and len(names) == len(chosen)
              for alt in set(names) - set(chosen)
              if set(names) - set(chosen) == {alt} and set(chosen) - set(names) == {name}]
    return f"{name} (or {' or '.join(others)})" if others else name


def _token_kind(name: str, value: str, prefix: str, where: str) -> list[str]:
    if value.startswith(prefix):
        return []
    kind = next((k for p, k in _TOKEN_KINDS.items() if value.startswith(p)), None)
    what = f"is {kind} ({value[:5]}…)" if kind else f"does not start with {prefix}"
    return [f"{name}: {what}; use {prefix}… — {where}"]


def env_file_problems(path: str | Path = ".env") -> list[str]:
    """Names in `.env` that socialbot does not read but that look like one it does: a typo
    would otherwise be ignored silently (the real setting then reads as not set)."""
    from dotenv import dotenv_values  # pydantic-settings' own .env reader

    env = Path(path)
    if not env.is_file():
        return []
    known = set(Settings.model_fields)
    lines = env.read_text(encoding="utf-8", errors="replace").splitlines()
    problems = []
    for name in dotenv_values(env):
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        if close:
            line = next((i for i, text in enumerate(lines, 1)
                         if text.strip().removeprefix("export ").strip().startswith(name)), 0)
            problems.append(f"{env}:{line}: {name} is not a socialbot setting; "
                            f"did you mean {close[0]}?")
    return problems
