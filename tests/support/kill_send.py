"""The kill -9 every network's loop must survive: a real `socialbot run` process is killed
after the network made the reply and before the bot read the answer. Reconcile (what `run`
does every minute) finds the reply on the network and records it once; the restarted bot
polls again and posts neither a second card nor a second reply.

Each network's e2e test describes its fake in a `KillCase` and calls `kill_9_between_send_and_answer`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from bot.desk.directory import StaticDirectory
from bot.desk.send import reconcile
from bot.domain.rules.load import load_rules
from bot.kit.db import make_engine, make_session_factory
from bot.networks.base import Publisher
from tests.support import bot_process
from tests.support.bot_process import Bot, wait_until
from tests.support.bot_server import BotServer
from tests.support.desk_clicks import AGENT, blocks_of, calls, click, draft_and_approve
from tests.support.fake_slack import FakeSlack


class HoldsReplies(Protocol):
    """A fake that can make a reply and hold its answer back (every network fake does)."""
    hold_replies: threading.Event | None  # set: the held answer goes
    reply_applied: threading.Event  # set once the reply is made


@dataclass(frozen=True)
class KillCase:
    fake: HoldsReplies
    network: str  # the publisher's key, as in `Mention.network`
    rules: Path
    env: dict[str, str]  # the network's credentials and its fake's address
    cards: Callable[[], list]  # the post's cards in the fake Slack
    limit: str  # the reply limit the draft modal names ("500 characters")
    publisher: Callable[[], Publisher]  # what reconcile asks, built as the bot builds it
    reply_id: Callable[[], str]  # the reply's id on the network, once it is made
    replies_made: Callable[[], int]  # how many replies the network was asked to make
    polls: Callable[[], int]  # how many times the bot read the source


def reply_rows(db: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(db, timeout=10) as conn:
        return conn.execute("SELECT state, network_id FROM reply").fetchall()


def kill_9_between_send_and_answer(case: KillCase, fake_slack: FakeSlack, tmp_path: Path,
                                   reply: str) -> None:
    db = tmp_path / "bot.db"
    url = f"sqlite:///{db}"
    bots: list[Bot] = []
    try:
        bots.append(bot := Bot(tmp_path, "before-kill", database_url=url, rules=case.rules,
                               slack_url=fake_slack.api_url, more_env=case.env))
        wait_until(case.cards, bot, "the post's card")
        http = BotServer(f"http://127.0.0.1:{bot.port}", None, bot_process.SIGNING_SECRET)
        approved = draft_and_approve(http, fake_slack, case.cards()[0], reply, limit=case.limit)
        case.fake.hold_replies = threading.Event()
        sender = threading.Thread(target=click, args=(http, fake_slack, AGENT, approved, "send"))
        sender.start()
        wait_until(case.fake.reply_applied.is_set, bot, f"the reply to reach {case.network}")
        bot.kill9()  # the reply exists on the network; the bot never heard so
        case.fake.hold_replies.set()
        sender.join(timeout=10)
        assert reply_rows(db) == [("sending", None)]

        # Once the row is older than any request timeout (three minutes pass: the intent is
        # dated back), reconcile.
        with sqlite3.connect(db, timeout=10) as conn:
            conn.execute("UPDATE reply SET created_at = datetime(created_at, '-3 minutes')")
        engine = make_engine(url)
        try:
            done = reconcile(make_session_factory(engine), {case.network: case.publisher()},
                             datetime.now(UTC), rules=load_rules(case.rules),
                             directory=StaticDirectory({}))
        finally:
            engine.dispose()
        assert [(r.before, r.after) for r in done] == [("sending", "sent")]
        assert reply_rows(db) == [("sent", case.reply_id())]

        # The restarted bot reads our reply back (not a mention) and updates the card.
        polls = case.polls()
        bots.append(bot := Bot(tmp_path, "restart", database_url=url, rules=case.rules,
                               slack_url=fake_slack.api_url, more_env=case.env))
        wait_until(lambda: case.polls() > polls, bot, "the restart's poll")
        wait_until(lambda: "Sent" in json.dumps(blocks_of(calls(fake_slack, "chat.update")[-1]))
                   if calls(fake_slack, "chat.update") else None, bot, "the card's update")
        assert case.replies_made() == 1
        assert len(case.cards()) == 1
    finally:
        for b in bots:
            b.cleanup()
