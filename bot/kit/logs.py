"""Logging for `socialbot`: text or JSON lines on stderr, with secrets taken out of every record.

The redaction is a filter on the handler, so it sees every record that reaches the output,
whichever library logged it: tweepy logs its request headers at DEBUG (`'Authorization':
'Bearer AAAA…'` or the OAuth 1.0a header), urllib3 logs URLs, an exception message may quote
a token. What is removed is decided in one place, `bot.domain.redaction` (the values of the
secret settings, and anything shaped like a credential: header values, tokens, URL user
information, secret-looking query parameters).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.domain.redaction import REDACTED, literal_pattern, redact_shapes

__all__ = ["REDACTED", "JsonFormatter", "Redactor", "configure", "make_handler", "secrets_of"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
        self._literal = literal_pattern(secrets)  # compiled once, not at every record

    def redact(self, text: str) -> str:
        """`bot.domain.redaction.redact` with this handler's secret values."""
        if self._literal is not None:
            text = self._literal.sub(REDACTED, text)
        return redact_shapes(text)

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
