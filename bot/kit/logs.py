"""Logging for `socialbot`: text or JSON lines on stderr, with secrets taken out of every record.

The redaction is a filter on the handler, so it sees every record that reaches the output,
whichever library logged it: tweepy logs its request headers at DEBUG (`'Authorization':
'Bearer AAAA…'` or the OAuth 1.0a header), urllib3 logs URLs, an exception message may quote
a token. Removed: the values of the secret settings (tokens, app passwords, the signing secret,
the database password), and anything shaped like a credential — `Authorization` header values,
`Bearer …`, Slack tokens (`xoxb-`, `xoxp-`, `xapp-`…), OAuth 1.0a parameters, `access_token=`,
passwords in URLs.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import IO, Any

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.config import Settings

REDACTED = "[REDACTED]"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Shorter values are not matched literally: a test's "s" would blank every letter s. Real
# tokens and passwords are far longer.
MIN_SECRET_LENGTH = 8

_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # An Authorization header's value, quoted (a dict repr, JSON) or to the end of the line.
    (re.compile(r"""(?i)(\bauthorization\b['"]?\s*[:=]\s*)(?:(['"])(?:\\.|(?!\2).)*\2|[^\r\n]+)"""),
     lambda m: f"{m[1]}{m[2] or ''}{REDACTED}{m[2] or ''}"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/%]+=*"), rf"\1 {REDACTED}"),
    (re.compile(r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]+"), REDACTED),
    # key=value credentials in URLs, OAuth 1.0a headers and base strings (also %-encoded),
    # reprs and JSON; the value ends at a quote, separator or an encoded `&`.
    (re.compile(r"""(?i)\b(oauth_(?:token|signature|consumer_key|verifier)|access_token|"""
                r"""refresh_token|client_secret|(?:app_)?password|client_key|"""
                r"""resource_owner_key)(['"]?\s*(?:[=:]|%3D)\s*['"]?)(?:(?!%26)[^"'&,\s}])+"""),
     rf"\1\2{REDACTED}"),
    (re.compile(r"(?i)\b(signature:\s*)\S+"), rf"\1{REDACTED}"),  # oauthlib's DEBUG line
    # scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@/\s]+@"), rf"\1{REDACTED}@"),
]


def secrets_of(settings: Settings) -> list[str]:
    """The secret values in `settings`: every `SecretStr` field and the database password."""
    values = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
    try:
        password = make_url(settings.DATABASE_URL).password
    except Exception:  # an unparseable URL is reported elsewhere
        password = None
    if password:
        values.append(str(password))
    return values


class Redactor(logging.Filter):
    """Rewrites each record's message (arguments merged in) and traceback without secrets."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        literal = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH},
                         key=len, reverse=True)  # longest first: a token containing another
        self._literal = re.compile("|".join(map(re.escape, literal))) if literal else None

    def redact(self, text: str) -> str:
        if self._literal is not None:
            text = self._literal.sub(REDACTED, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the formatter to report
            return True
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


# LogRecord's own attributes; anything else on a record came from `extra=` and is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, thread, and
    `exc` for a traceback; fields passed with `extra=` are kept as they are."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "thread": record.threadName}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_handler(settings: Settings, stream: IO[str]) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if settings.SOCIALBOT_LOG_FORMAT == "json"
                         else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(Redactor(secrets_of(settings)))
    return handler


def configure(settings: Settings, *, level: str, stream: IO[str], force: bool = False) -> None:
    """The root logger's one handler (like `logging.basicConfig`, a no-op when the root
    already has handlers, unless `force`)."""
    logging.basicConfig(level=level.upper(), handlers=[make_handler(settings, stream)],
                        force=force)
    # Alembic announces each of its plugins at INFO on every migration: seven lines of noise
    # at every `socialbot run`.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # APScheduler logs every job it adds, runs and finishes at INFO (~10 lines a minute when
    # idle); the bot logs what its jobs did instead.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Bolt reads SLACK_BOT_TOKEN from the environment itself and then warns that it is
    # "unused" beside the client we give it — which carries that same token.
    logging.getLogger("slack_bolt.App").addFilter(_not_the_token_unused_warning)


def _not_the_token_unused_warning(record: logging.LogRecord) -> bool:
    return "`token` will be unused" not in record.getMessage()
