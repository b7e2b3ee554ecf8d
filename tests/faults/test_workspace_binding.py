"""Signed requests from the wrong place (issue 18, items 10 and 11), over real HTTP to the real
Bolt app: a click from another workspace (Slack Connect: the payload's team, or the acting
user's), a slash command from another team, a card's button clicked outside the card's
channel, a forged correction the modal never offers (`author_type=brand`, a complaint
flag other than complaint / not_complaint / unchanged). Before, each was
carried out. Now each is refused, audited, told to the person, and nothing changes; the same
click from the right place still works."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from prometheus_client import CollectorRegistry
from slack_sdk import WebClient
from sqlalchemy import select

from bot.app import build_app
from bot.config import Settings
from bot.desk.directory import StaticDirectory
from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.kit.http import make_http_server, wsgi_app
from bot.slack.binding import ELSEWHERE, FOREIGN, Workspace
from bot.slack.ids import Action, CardRef, View
from bot.slack.services import Services
from tests.support import fault_figures
from tests.support.bot_server import BotServer
from tests.support.fake_slack import FakeSlack
from tests.support.paths import ROOT

RULES = load_rules(ROOT / "routing_rules.yaml")
SECRET = "binding-signing-secret"
FORM = "application/x-www-form-urlencoded"
AGENT = "U0AGENT01"
CARE, PR = RULES.teams["care"].channel, RULES.teams["pr"].channel


@pytest.fixture
def bot(engine):
    """The real app, bound to the fake Slack's workspace (auth.test: T111), one care mention
    whose card is in the care channel."""
    fake = FakeSlack().start()
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        m = models.Mention(network="x", external_id="1", text="@NorthwindAir late again",
                           author=models.Author(network="x", handle="ana",
                                                author_type="customer"),
                           compound=-0.5, sentiment="negative", author_type="customer",
                           score=50, priority="P3", team="care", ingested_at=datetime.now(UTC),
                           slack_channel=CARE, slack_ts="1700000000.000001")
        s.add(m)
        s.flush()
        mention_id = m.id
    settings = Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-binding",
                        SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.api_url,
                        DATABASE_URL=engine.url.render_as_string(hide_password=False))
    services = Services(factory, lambda: RULES, StaticDirectory(), lambda: datetime.now(UTC),
                        workspace=Workspace(WebClient(token="xoxb-binding",
                                                      base_url=fake.api_url)))
    app = build_app(settings, services, token_verification=False)
    server = make_http_server(wsgi_app(app, lambda: (True, "ok"), CollectorRegistry(),
                                       signing_secret=SECRET), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield (BotServer(f"http://127.0.0.1:{server.server_address[1]}", None, SECRET), fake,
           factory, mention_id)
    server.shutdown()
    fake.stop()


def click(mention_id: int, *, team: str = "T111", user_team: str | None = None,
          channel: str = CARE, action: str = Action.CLAIM.value, option: str | None = None,
          version: int = 0) -> str:
    user = {"id": AGENT, **({"team_id": user_team} if user_team else {})}
    payload = {"type": "block_actions", "user": user, "team": {"id": team},
               "api_app_id": "A111", "channel": {"id": channel},
               "container": {"type": "message", "channel_id": channel},
               "trigger_id": "t", "response_url": "http://127.0.0.1:9/respond",
               "message": {"ts": "1700000000.000001"},
               "actions": [{"action_id": action, "block_id": "b", "type": "button",
                            "value": CardRef(mention_id, version, option=option).encode()}]}
    return urlencode({"payload": json.dumps(payload)})


def correction(mention_id: int, field: str, value: str, version: int = 0,
               complaint: str | None = None) -> str:
    values = {"value": {"value": {"type": "static_select", "selected_option": {"value": value}}}}
    if complaint is not None:  # the modal's second select
        values["complaint"] = {"complaint": {"type": "static_select",
                                             "selected_option": {"value": complaint}}}
    view = {"id": "V1", "type": "modal", "callback_id": View.CORRECT.value,
            "private_metadata": CardRef(mention_id, version, option=field).encode(),
            "state": {"values": values}}
    payload = {"type": "view_submission", "user": {"id": AGENT}, "team": {"id": "T111"},
               "api_app_id": "A111", "trigger_id": "t", "view": view}
    return urlencode({"payload": json.dumps(payload)})


def state(factory) -> tuple:
    with session_scope(factory) as s:
        m = s.scalars(select(models.Mention)).one()
        return m.status, m.version, m.claimed_by, m.author_type


def refusals(factory) -> list[str]:
    with session_scope(factory) as s:
        return [e.detail.get("reason", "") for e in s.scalars(
            select(models.AuditEvent).where(models.AuditEvent.action == "refused")
            .order_by(models.AuditEvent.id))]


def test_requests_from_elsewhere_are_refused_audited_and_change_nothing(bot):
    server, fake, factory, mention_id = bot
    before = state(factory)
    tries = [
        ("another team", click(mention_id, team="T999")),
        ("a user of another team", click(mention_id, user_team="T999")),
        ("outside the card's channel", click(mention_id, channel=PR)),
        ("an unknown channel", click(mention_id, channel="C0SHARED999")),
    ]
    for what, body in tries:
        assert server.post("/slack/events", body, content_type=FORM).status == 200, what
    command = urlencode({"token": "legacy", "team_id": "T999", "channel_id": CARE,
                         "user_id": AGENT, "command": "/social", "text": "export 30d",
                         "response_url": fake.url + "respond/T999/1/x", "trigger_id": "t"})
    answer = server.post("/slack/events", command, content_type=FORM)
    assert (answer.status, answer.body.decode()) == (200, FOREIGN)
    fault_figures.tried("hostile inputs", len(tries) + 1)
    fake.wait_until(lambda: len(fake.calls_to("chat.postEphemeral")) >= len(tries))
    notes = [json.dumps(c.params) for c in fake.calls_to("chat.postEphemeral")]
    assert sum(FOREIGN in n for n in notes) == 2 and sum(ELSEWHERE in n for n in notes) == 2
    assert fault_figures.invariant("unauthorised changes", int(state(factory) != before)) == 0
    # Channel refusals come after the ack (they need the mention): in any order.
    assert sorted(refusals(factory)) == ["another workspace"] * 3 + [
        "button outside the card's channel"] * 2
    assert not fake.files() and not fake.calls_to("files.getUploadURLExternal")

    # The same click from the card's channel, in the bot's workspace, works.
    assert server.post("/slack/events", click(mention_id), content_type=FORM).status == 200
    deadline = time.monotonic() + 10
    while state(factory)[:3] != ("claimed", 1, AGENT):
        assert time.monotonic() < deadline, state(factory)
        time.sleep(0.02)


def test_a_forged_correction_the_modal_never_offers_is_refused(bot):
    server, fake, factory, mention_id = bot
    before = state(factory)
    forged = [("author_type", "brand", None), ("sentiment", "furious", None),
              ("priority", "P0", None), ("author_type", "customer'; --", None),
              # the complaint select: only complaint / not_complaint / unchanged are offered
              ("author_type", "press", "yes"), ("priority", "P1", "true"),
              ("author_type", "press", "complaint'; --")]
    for field, value, complaint in forged:
        assert server.post("/slack/events", correction(mention_id, field, value,
                                                       complaint=complaint),
                           content_type=FORM).status == 200
    fault_figures.tried("hostile inputs", len(forged))
    fake.wait_until(lambda: len(fake.calls_to("chat.postMessage")) >= len(forged))
    assert all("is not a" in json.dumps(c.params) for c in fake.calls_to("chat.postMessage"))
    assert fault_figures.invariant("unauthorised changes", int(state(factory) != before)) == 0
    with session_scope(factory) as s:
        assert s.scalars(select(models.Correction)).all() == []
    # A value the modal offers is taken.
    assert server.post("/slack/events", correction(mention_id, "author_type", "press",
                                                   complaint="complaint"),
                       content_type=FORM).status == 200
    deadline = time.monotonic() + 10
    while state(factory)[3] != "press":
        assert time.monotonic() < deadline, state(factory)
        time.sleep(0.02)
    with session_scope(factory) as s:
        assert sorted(c.field for c in s.scalars(select(models.Correction))) == [
            "author_type", "complaint"]

