"""The `socialbot` command: check, migrate, replay, report, run, tune.

Every expected failure (bad rules, missing token, unreadable input, database down) ends with a
one-line message naming what is wrong and exit code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import re
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from bot import __version__
from bot.config import SettingProblem, Settings, env_file_problems
from bot.domain.rules.load import Rules, RulesError, load_rules
from bot.domain.rules.starter import placeholders
from bot.kit import logs
from bot.kit.preflight import database_problem, first_line, redact

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
    """Settings and rules, then (unless --offline) the database and Slack themselves. Missing
    credentials are reported as "not ready"; anything set that cannot work is a problem:
    one line each on stderr, exit 2."""
    problems = [*env_file_problems(), *settings.value_problems()]
    rules = _load(args, settings, err)
    if rules is None:
        _print_all(problems, err)
        return EXIT_USAGE
    path = _rules_path(args, settings)
    print(f"{path}: ok — {len(rules.teams)} teams, {len(rules.rules)} rules, "
          f"{len(rules.sources)} sources", file=out)
    left = placeholders(rules)
    if left:
        print(f"  warning: the sample's placeholders are still there ({len(left)}: "
              f"{'; '.join(left[:3])}{'; …' if len(left) > 3 else ''}); write your own with "
              "`socialbot init` or edit them (README, Quick start)", file=out)
    ready = 0
    for source in rules.sources:
        line, can_read = _source_line(settings, source.type, source.enabled)
        ready += can_read
        print(f"  source {source.id} ({source.type}): {line}", file=out)
    for network in dict.fromkeys(s.network for s in rules.sources if s.enabled):
        reply = settings.reply_readiness(network)
        if reply is not None:
            print(f"  replies on {network}: {reply}", file=out)
    problems += _check_slack(settings, offline=args.offline, out=out)
    db_problem = None if args.offline else database_problem(settings.DATABASE_URL)
    checked = " (not checked: --offline)" if args.offline else ""
    print(f"  database: {redact(settings.DATABASE_URL)}{checked}", file=out)
    if db_problem:
        problems.append(db_problem)
    env_file = Path(".env")
    if env_file.exists() and env_file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        print("  warning: .env is open to other users (its group or everyone); "
              "run: chmod 600 .env", file=out)
    print(f"{ready}/{sum(s.enabled for s in rules.sources)} sources ready", file=out)
    if problems:
        _print_all(problems, err)
        return EXIT_USAGE
    if args.live:
        return _check_live(rules, settings, out, err)
    return EXIT_OK


def _print_all(lines: list[str], err: TextIO) -> None:
    for line in lines:
        print(line, file=err)


def _source_line(settings: Settings, source_type: str, enabled: bool) -> tuple[str, bool]:
    """How `check` describes one source's reading, and whether it reads."""
    if not enabled:
        return "disabled", False
    missing = settings.missing_for_source(source_type)
    if missing:
        return f"not ready, missing {', '.join(missing)}", False
    return "ready", True


def _check_slack(settings: Settings, *, offline: bool, out: TextIO) -> list[str]:
    from bot.slack.probe import slack_problems

    # Socket Mode (the manifest's default) unless only HTTP mode's signing secret is set.
    socket_mode = settings.is_set("SLACK_APP_TOKEN") or not settings.is_set(
        "SLACK_SIGNING_SECRET")
    mode = "Socket Mode" if socket_mode else "HTTP"
    problems = settings.slack_setting_problems(http=not socket_mode)
    unset = [p for p in problems if " is not set " in p]
    if unset:  # not configured yet: a report, not a failure
        names = [p.split(" ", 1)[0] for p in unset]
        http_too = " (or, for HTTP mode, SLACK_SIGNING_SECRET)" if "SLACK_APP_TOKEN" in names else ""
        print(f"  slack ({mode}): not ready, missing {', '.join(names)}{http_too}", file=out)
        return [p for p in problems if p not in unset]
    if problems or offline:
        print(f"  slack ({mode}): {'not checked: --offline' if offline else 'not ready'}",
              file=out)
        return problems
    problems = slack_problems(settings, socket_mode=socket_mode)
    print(f"  slack ({mode}): {'not ready' if problems else 'ready — Slack accepts the tokens'}",
          file=out)
    return problems


def _check_live(rules: Rules, settings: Settings, out: TextIO, err: TextIO) -> int:
    """What the running bot recorded about each source (the database it shares with `run`)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.kit.db import make_engine, make_session_factory
    from bot.listening.health import source_health

    problem = database_problem(settings.DATABASE_URL, must_exist=True)
    if problem:
        print(problem, file=err)
        return EXIT_USAGE
    engine = make_engine(settings.DATABASE_URL)
    try:
        with make_session_factory(engine)() as session:
            rows = source_health(session, rules, datetime.now(UTC))
    except SQLAlchemyError as exc:
        print(f"DATABASE_URL: cannot read source health from {redact(settings.DATABASE_URL)}"
              f" (run `socialbot migrate`?): {type(exc).__name__}", file=err)
        return EXIT_USAGE
    finally:
        engine.dispose()
    print("live:", file=out)
    for row in rows:
        print(f"  {row.line()}", file=out)
    from bot.domain.polling_cost import polling_cost

    print("polling cost (one page a poll):", file=out)
    for spec in rules.sources:
        if spec.enabled:
            print(f"  {polling_cost(spec).line()}", file=out)
    return EXIT_OK


def cmd_init(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    """A starter rules file for your brand: channels by name and approvers by handle looked
    up in Slack (ids given as ids are used as they are), no placeholder left."""
    from bot.domain.rules.load import RulesError, parse_rules
    from bot.domain.rules.starter import placeholders, starter_rules

    path = Path(_rules_path(args, settings))
    if path.exists() and not args.force:
        print(f"{path}: exists; pass --force to replace it, or --rules PATH", file=err)
        return EXIT_USAGE
    try:
        teams = _init_teams(args.team or [], args.approver or [], settings)
        text = starter_rules(args.brand or "", teams, x_username=args.x_username,
                             feeds=args.feed or [])
        left = placeholders(parse_rules(text, str(path)))
    except (ValueError, SettingProblem, LookupError) as exc:
        print(str(exc), file=err)
        return EXIT_USAGE
    except RulesError as exc:
        _print_all([str(p) for p in exc.problems], err)
        return EXIT_USAGE
    if left:
        print(f"still placeholders: {'; '.join(left)}", file=err)
        return EXIT_USAGE
    path.write_text(text, encoding="utf-8")
    print(f"{path}: written — {len(teams)} team(s); next: socialbot check --rules {path}",
          file=out)
    return EXIT_OK


def _pairs(values: list[str], flag: str, example: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        team, sep, what = value.partition("=")
        if not sep or not team.strip() or not what.strip():
            raise ValueError(f"{flag}: {value!r} is not TEAM=VALUE (e.g. {flag} {example})")
        pairs.append((team.strip().lower(), what.strip()))
    return pairs


def _init_teams(team_args: list[str], approver_args: list[str], settings: Settings) -> list:
    """`--team care=#social` and `--approver care=@dana` → StarterTeams with Slack ids."""
    from bot.domain.rules.starter import StarterTeam

    teams = _pairs(team_args, "--team", "care=#social-care")
    approvers = _pairs(approver_args, "--approver", "care=@dana")
    unknown = sorted({t for t, _ in approvers} - {t for t, _ in teams})
    if unknown:
        raise ValueError(f"--approver: no --team {unknown[0]}")
    names = [c for _, c in teams if not re.fullmatch(r"[CG][A-Z0-9]{6,}", c)]
    handles = [h for _, h in approvers if not re.fullmatch(r"[UWS][A-Z0-9]{6,}", h)]
    channel_of, user_of = _lookup(names, handles, settings)
    result = []
    for team, channel in teams:
        ids = [user_of.get(h, h) for t, h in approvers if t == team]
        if not ids:
            raise ValueError(f"--approver: team {team} has none (e.g. --approver {team}=@lead)")
        result.append(StarterTeam(team, channel_of.get(channel, channel), channel, ids))
    return result


def _lookup(names: list[str], handles: list[str],
            settings: Settings) -> tuple[dict[str, str], dict[str, str]]:
    if not names and not handles:
        return {}, {}
    from slack_sdk import WebClient

    from bot.slack.channels import ChannelNotFound, channel_ids
    from bot.slack.people import UserNotFound, user_ids

    client = WebClient(token=settings.secret("SLACK_BOT_TOKEN"),
                       base_url=settings.SLACK_API_URL, timeout=10)
    try:
        return (channel_ids(client, names) if names else {},
                user_ids(client, handles) if handles else {})
    except (ChannelNotFound, UserNotFound) as exc:
        raise LookupError(f"slack: {exc}") from None


def cmd_migrate(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.kit.db import upgrade_to_head
    from bot.kit.leader import migration_lock

    url = settings.DATABASE_URL
    problem = database_problem(url)
    if problem:
        print(problem, file=err)
        return EXIT_USAGE
    try:
        with migration_lock(url):  # replicas (or a `run`) migrating at once take turns
            upgrade_to_head(url)
    except SQLAlchemyError as exc:
        print(f"DATABASE_URL: cannot migrate {redact(url)}: {first_line(exc)}", file=err)
        return EXIT_USAGE
    print(f"database {redact(url)} is at the latest schema", file=out)
    return EXIT_OK


def cmd_replay(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    from bot.offline.replay import run as replay

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
    from bot.slack.channels import ChannelNotFound

    rules = _load(args, settings, err)
    if rules is None:
        return EXIT_USAGE
    problems = env_file_problems()
    if problems:
        print(f"cannot start: {problems[0]}", file=err)
        return EXIT_USAGE
    try:
        return app.serve(settings, rules, http_port=args.http,
                         rules_path=_rules_path(args, settings))
    except (SettingProblem, ChannelNotFound) as exc:
        print(f"cannot start: {exc}", file=err)
        return EXIT_USAGE


def cmd_report(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    """The `/social report` figures in the terminal, from the database `run` uses."""
    import json
    from zoneinfo import ZoneInfo

    from sqlalchemy.exc import SQLAlchemyError

    from bot.kit.db import make_engine, make_session_factory
    from bot.reports.period import PeriodError, parse_period
    from bot.reports.queries import compute_report, report_timezone
    from bot.reports.text import report_text

    rules = _load(args, settings, err)
    if rules is None:
        return EXIT_USAGE
    if args.team is not None and args.team not in rules.teams:
        print(f"--team: unknown team {args.team!r} (teams: {', '.join(sorted(rules.teams))})",
              file=err)
        return EXIT_USAGE
    now, tz_name = datetime.now(UTC), report_timezone(rules)
    try:
        period = parse_period(args.since, now, ZoneInfo(tz_name))
    except PeriodError as exc:
        print(f"--since: {exc.message}", file=err)
        return EXIT_USAGE
    problem = database_problem(settings.DATABASE_URL, must_exist=True)
    if problem:
        print(problem, file=err)
        return EXIT_USAGE
    engine = make_engine(settings.DATABASE_URL)
    try:
        with make_session_factory(engine)() as session:
            report = compute_report(session, rules, period, now=now, team=args.team,
                                    tz_name=tz_name)
    except SQLAlchemyError as exc:
        print(f"DATABASE_URL: cannot read {redact(settings.DATABASE_URL)} "
              f"(run `socialbot migrate`?): {type(exc).__name__}", file=err)
        return EXIT_USAGE
    finally:
        engine.dispose()
    print(json.dumps(report.as_json()) if args.json else report_text(report), file=out)
    return EXIT_OK


def cmd_tune(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    """Rule changes proposed from the corrections staff made, replayed on the stored history."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.kit.db import make_engine, make_session_factory
    from bot.offline.tune import report as tune_report

    rules = _load(args, settings, err)
    if rules is None:
        return EXIT_USAGE
    problem = database_problem(settings.DATABASE_URL, must_exist=True)
    if problem:
        print(problem, file=err)
        return EXIT_USAGE
    engine = make_engine(settings.DATABASE_URL)
    try:
        return tune_report.run(make_session_factory(engine), rules, _rules_path(args, settings),
                               as_json=args.json, write=args.write, only=args.only,
                               min_support=args.min_support, since=args.since, out=out, err=err)
    except SQLAlchemyError as exc:
        print(f"DATABASE_URL: cannot read {redact(settings.DATABASE_URL)} "
              f"(run `socialbot migrate`?): {type(exc).__name__}", file=err)
        return EXIT_USAGE
    finally:
        engine.dispose()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="socialbot",
                                     description="A Slack-native social media response desk.")
    parser.add_argument("--version", action="version", version=f"socialbot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("check", help="validate settings and the rules file")
    p.add_argument("--rules", help="rules file (default: $SOCIALBOT_RULES or ./routing_rules.yaml)")
    p.add_argument("--live", action="store_true",
                   help="also show each source's health as recorded by the running bot")
    p.add_argument("--offline", action="store_true",
                   help="do not connect to the database or Slack (settings and rules only)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("init", help="write a starter rules file for your brand (channels and "
                                    "approvers looked up in Slack)")
    p.add_argument("--rules", help="file to write (default: $SOCIALBOT_RULES or "
                                   "./routing_rules.yaml)")
    p.add_argument("--brand", help="your brand's name")
    p.add_argument("--team", action="append", metavar="TEAM=#CHANNEL",
                   help="a team and its channel (#name or id); repeat for more teams")
    p.add_argument("--approver", action="append", metavar="TEAM=@HANDLE",
                   help="who approves the team's sensitive replies (@handle, user or group id)")
    p.add_argument("--x-username", help="the brand's X account: its mentions are polled")
    p.add_argument("--feed", action="append", metavar="URL", help="an RSS/Atom feed to read")
    p.add_argument("--force", action="store_true", help="replace an existing file")
    p.set_defaults(func=cmd_init)

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

    p = sub.add_parser("report", help="the /social report figures in the terminal")
    p.add_argument("--since", default="7d",
                   help="today, 7d, 30d (any Nd) or YYYY-MM-DD..YYYY-MM-DD (default: 7d)")
    p.add_argument("--team", help="one team's figures (a team id from the rules file)")
    p.add_argument("--json", action="store_true", help="the figures as one JSON object")
    p.add_argument("--rules", help="rules file (default: $SOCIALBOT_RULES or ./routing_rules.yaml)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("tune", help="propose rule changes from staff corrections, replayed "
                                    "on the stored mentions (no writes)")
    p.add_argument("--rules", help="rules file (default: $SOCIALBOT_RULES or ./routing_rules.yaml)")
    p.add_argument("--json", action="store_true", help="the proposals as one JSON object")
    p.add_argument("--write", metavar="PATH",
                   help="write a copy of the rules file with the proposals applied (never the "
                        "rules file itself)")
    p.add_argument("--only", metavar="N,N", help="with --write: apply only these proposals")
    p.add_argument("--min-support", type=int, default=3, metavar="N",
                   help="corrections needed before a word or a rule is proposed (default: 3)")
    p.add_argument("--since", type=_iso_time, metavar="ISO_TIME",
                   help="replay only mentions ingested since this time (default: all)")
    p.set_defaults(func=cmd_tune)

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
    except ValidationError as exc:  # a malformed value in the environment or .env
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "settings"
            print(f"{name}: {error['msg'].removeprefix('Value error, ')}", file=err)
        return EXIT_USAGE
    # Text or JSON lines (SOCIALBOT_LOG_FORMAT), secrets redacted from every record.
    logs.configure(settings, level=settings.LOG_LEVEL, stream=err)
    try:
        return args.func(args, settings, out, err)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `socialbot replay big.csv | head`
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
