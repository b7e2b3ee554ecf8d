"""The renderer's registry on a real database (SQLite, and PostgreSQL when configured): which
function draws which outbox row, by the row's kind and its payload's `type`, and the clear
refusals when nothing can draw a row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.desk.directory import StaticDirectory
from bot.domain.outbox import OutboxKind
from bot.domain.rules.schema import Rules
from bot.kit import models
from bot.reports import weekly
from bot.slack import render
from bot.slack.render import Renderer

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULES = Rules.model_validate({
    "brand": {"name": "Acme Bank", "x_username": "AcmeBank"},
    "teams": {"support": {"channel": "C0SUPPORT1", "approvers": ["U0LEAD"]}},
    "default_team": "support",
    "outcomes": ["resolved", "no_action"],
})
renderer = Renderer(lambda: RULES, StaticDirectory(), lambda: NOW)


def row(session, kind: OutboxKind | str, payload: dict, mention_id: int | None = None,
        channel: str = "C0SUPPORT1") -> models.OutboxMessage:
    message = models.OutboxMessage(kind=kind, channel=channel, mention_id=mention_id,
                                   priority="P3", payload=payload, not_before=NOW,
                                   created_at=NOW)
    session.add(message)
    session.flush()
    return message


def test_one_renderer_for_each_message_the_app_queues():
    assert set(render.RENDERERS) == {
        (OutboxKind.CARD, None), (OutboxKind.UPDATE, None), (OutboxKind.DIGEST, None),
        (OutboxKind.ALERT, None), (OutboxKind.DM, "approval_request"),
        (OutboxKind.THREAD, "approval_request"), (OutboxKind.THREAD, "rejected"),
        (OutboxKind.THREAD, "sla_reminder"), (OutboxKind.THREAD, "sla_breach"),
        (OutboxKind.THREAD, "draft_preview"), (OutboxKind.THREAD, "crisis_thread"),
        (OutboxKind.THREAD, "thread_post"), (OutboxKind.THREAD, "thread_folded"),
        (OutboxKind.ALERT, weekly.PAYLOAD_TYPE), (OutboxKind.FILE, weekly.CHART_PAYLOAD_TYPE)}


def test_a_card_is_drawn_whatever_its_payload_says(session, make_mention):
    m = make_mention(team="support")
    plain = renderer(session, row(session, OutboxKind.CARD, {}, m.id))
    moved = renderer(session, row(session, "card", {"reassigned_from": "C0OTHER01"}, m.id))
    update = renderer(session, row(session, OutboxKind.UPDATE, {}, m.id))
    assert plain == moved == update
    assert plain["blocks"]


def test_a_row_about_no_mention_is_refused_by_name(session):
    # Found by the type checker: such a row used to reach `card_view(None)` and failed as
    # "mention not found", which says nothing of the row that was wrong.
    message = row(session, OutboxKind.THREAD, {"type": "rejected", "reason": "tone"})
    with pytest.raises(ValueError, match=rf"outbox row {message.id}: a thread row about no "
                                         "mention has nothing to draw it from"):
        renderer(session, message)


def test_a_type_nothing_draws_is_refused(session, make_mention):
    m = make_mention()
    message = row(session, OutboxKind.THREAD, {"type": "haiku"}, m.id)
    with pytest.raises(ValueError, match=rf"outbox row {message.id}: nothing renders "
                                         "kind='thread' type='haiku'"):
        renderer(session, message)
    dm = row(session, OutboxKind.DM, {}, m.id, channel="U0LEAD")
    with pytest.raises(ValueError, match="nothing renders kind='dm' type=None"):
        renderer(session, dm)


def test_a_draft_preview_of_a_mention_without_a_draft_is_refused(session, make_mention):
    m = make_mention()
    message = row(session, OutboxKind.THREAD, {"type": "draft_preview"}, m.id)
    with pytest.raises(ValueError, match="a draft preview of a mention with no draft"):
        renderer(session, message)


def test_a_weekly_report_is_sent_as_it_was_queued(session):
    payload = {"type": weekly.PAYLOAD_TYPE, "text": "Week 47", "blocks": [{"type": "divider"}]}
    message = row(session, weekly.OUTBOX_KIND, payload)
    assert renderer(session, message) == {"text": "Week 47", "blocks": [{"type": "divider"}]}


def test_two_renderers_for_one_kind_and_type_are_refused():
    with pytest.raises(ValueError, match="two renderers for kind='card' type=None"):
        render.renders(OutboxKind.CARD)(lambda r: {})
    assert render.RENDERERS[(OutboxKind.CARD, None)].__name__ == "_card"


def test_a_thread_post_and_a_folded_thread_are_drawn_from_their_rows(session, make_mention):
    m = make_mention(team="support")
    posts = [models.ThreadPost(mention_id=m.id, network="x", external_id=f"t{i}",
                               role="follow_up" if i == 0 else "context",
                               author_handle=f"user{i}", text=f"post {i} <!here>",
                               url=f"https://x.com/user{i}/status/{i}", priority="P3",
                               sentiment="neutral", ingested_at=NOW) for i in range(3)]
    session.add_all(posts)
    session.flush()
    one = renderer(session, row(session, OutboxKind.THREAD, {
        "type": "thread_post", "post_id": posts[0].id, "notify": "U0AGENT1"}, m.id))
    assert "Customer replied" in str(one) and "<@U0AGENT1>" in str(one)
    assert "&lt;!here&gt;" in str(one) and "<!here>" not in str(one)
    folded = renderer(session, row(session, OutboxKind.THREAD, {
        "type": "thread_folded", "post_ids": [p.id for p in posts[1:]]}, m.id))
    assert folded["text"] == "2 more messages in the conversation"
    assert "user2" in str(folded["blocks"])
