"""The `socialbot` command: check, migrate, replay, run.

Every expected failure (bad rules, missing token, unreadable input, database down) ends with a
one-line message naming what is wrong and exit code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot import __version__
from bot.config import MissingSetting, Settings
from bot.rules import Rules, RulesError, load_rules

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _rules_path(args: argparse.Namespace, settings: Settings) -> str:
    return args.rules or settings.SOCIALBOT_RULES


def _load(args: argparse.Namespace, settings: Settings, err: TextIO) -> Rules | None:
    try:
        return load_rules(_rules_path(args, settings))
    except RulesError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        return None


def cmd_check(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    rules = _load(args, settings, err)
    if rules is None:
        return EXIT_USAGE
    path = _rules_path(args, settings)
    print(f"{path}: ok — {len(rules.teams)} teams, {len(rules.rules)} rules, "
          f"{len(rules.sources)} sources", file=out)
    ready = 0
    for source in rules.sources:
        if not source.enabled:
            print(f"  source {source.id} ({source.type}): disabled", file=out)
            continue
        missing = settings.missing_for_source(source.type)
        if missing:
            print(f"  source {source.id} ({source.type}): not ready, missing "
                  f"{', '.join(missing)}", file=out)
        else:
            ready += 1
            print(f"  source {source.id} ({source.type}): ready", file=out)
    socket_mode = settings.is_set("SLACK_APP_TOKEN")
    slack_missing = settings.missing_for_slack(socket_mode=socket_mode)
    mode = "Socket Mode" if socket_mode else "HTTP"
    if slack_missing:
        print(f"  slack ({mode}): not ready, missing {', '.join(slack_missing)}", file=out)
    else:
        print(f"  slack ({mode}): ready", file=out)
    print(f"  database: {_redact_url(settings.DATABASE_URL)}", file=out)
    env_file = Path(".env")
    if env_file.exists() and env_file.stat().st_mode & (stat.S_IROTH | stat.S_IWOTH):
        print("  warning: .env is readable by other users; run: chmod 600 .env", file=out)
    print(f"{ready}/{sum(s.enabled for s in rules.sources)} sources ready", file=out)
    if args.live:
        return _check_live(rules, settings, out, err)
    return EXIT_OK


def _check_live(rules: Rules, settings: Settings, out: TextIO, err: TextIO) -> int:
    """What the running bot recorded about each source (the database it shares with `run`)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db import make_engine, make_session_factory
    from bot.health import source_health

    engine = make_engine(settings.DATABASE_URL)
    try:
        with make_session_factory(engine)() as session:
            rows = source_health(session, rules, datetime.now(UTC))
    except SQLAlchemyError as exc:
        print(f"DATABASE_URL: cannot read source health from {_redact_url(settings.DATABASE_URL)}"
              f" (run `socialbot migrate`?): {type(exc).__name__}", file=err)
        return EXIT_USAGE
    finally:
        engine.dispose()
    print("live:", file=out)
    for row in rows:
        print(f"  {row.line()}", file=out)
    return EXIT_OK


def _redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL is reported by migrate/run, not here
        return "<unparseable DATABASE_URL>"


def cmd_migrate(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    from sqlalchemy.exc import ArgumentError, OperationalError

    from bot.db import upgrade_to_head

    url = settings.DATABASE_URL
    try:
        upgrade_to_head(url)
    except ArgumentError as exc:
        print(f"DATABASE_URL: cannot parse {url!r}: {exc}", file=err)
        return EXIT_USAGE
    except OperationalError as exc:
        print(f"DATABASE_URL: cannot reach {_redact_url(url)}: {exc.orig}", file=err)
        return EXIT_USAGE
    print(f"database {_redact_url(url)} is at the latest schema", file=out)
    return EXIT_OK


def cmd_replay(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    from bot import replay

    rules = _load(args, settings, err)
    if rules is None:
        return EXIT_USAGE
    return replay.run(args.file, rules, as_json=args.json, out=out, err=err, now=args.as_of)


def _iso_time(value: str) -> datetime:
    """`--as-of`: an ISO 8601 time; without an offset it is UTC."""
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time (e.g. 2024-11-05T09:00:00Z)") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def cmd_run(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    from bot import app
    from bot.slack_channels import ChannelNotFound

    rules = _load(args, settings, err)
    if rules is None:
        return EXIT_USAGE
    try:
        return app.serve(settings, rules, http_port=args.http,
                         rules_path=_rules_path(args, settings))
    except (MissingSetting, ChannelNotFound) as exc:
        print(f"cannot start: {exc}", file=err)
        return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="socialbot",
                                     description="A Slack-native social media response desk.")
    parser.add_argument("--version", action="version", version=f"socialbot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="validate settings and the rules file")
    p.add_argument("--rules", help="rules file (default: $SOCIALBOT_RULES or ./routing_rules.yaml)")
    p.add_argument("--live", action="store_true",
                   help="also show each source's health as recorded by the running bot")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("migrate", help="bring the database schema up to date (alembic upgrade head)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("replay", help="score and route mentions from a file: no Slack, no DB")
    p.add_argument("file", help="JSON Lines (X API v2 pages or normalised mentions) or CSV")
    p.add_argument("--rules", help="rules file (default: $SOCIALBOT_RULES or ./routing_rules.yaml)")
    p.add_argument("--json", action="store_true", help="one JSON object per mention")
    p.add_argument("--as-of", type=_iso_time, metavar="ISO_TIME",
                   help="score every mention as of this time (default: as of its own "
                        "created_at, as the live bot would have on arrival)")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("run", help="run the bot (Socket Mode with SLACK_APP_TOKEN, else HTTP)")
    p.add_argument("--rules", help="rules file (default: $SOCIALBOT_RULES or ./routing_rules.yaml)")
    p.add_argument("--http", type=int, metavar="PORT",
                   help="serve Slack over HTTP on PORT (POST /slack/events, GET /healthz)")
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except Exception as exc:  # pydantic-settings: a malformed value in the environment or .env
        print(f"settings: {exc}", file=err)
        return EXIT_USAGE
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", settings.LOG_LEVEL).upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=err)
    try:
        return args.func(args, settings, out, err)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `socialbot replay big.csv | head`
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
