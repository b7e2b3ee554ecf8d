"""Conversations at ingest, on a real database (SQLite, and PostgreSQL when configured): a
customer's answer to our reply joins the card's thread — stored once, queued once for the
thread, never a card — and reopens the card; strangers are context; the brand answering
elsewhere stops the clock; the odd orders and repeats of real networks change none of that."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot.desk import commands as desk
from bot.desk.commands import HOME, card_view
from bot.desk.directory import StaticDirectory
from bot.desk.work import Work
from bot.domain.mention import Author, Mention
from bot.domain.outbox import OutboxKind
from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.follow_ups import HOME_NOTE
from bot.listening.ingest import store_mentions
from bot.reports.period import parse_period
from bot.reports.queries import compute_report
from bot.slack.blocks.report import report_blocks
from bot.slack.ids import CardRef
from bot.slack.render import Renderer
from tests.support.paths import ROOT

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULES = load_rules(ROOT / "routing_rules.yaml")
CARD_ID = "1990000000000000001"
OUR_REPLY = "1990000000000000002"
AGENT = "U0AGENT0001"


def post(external_id: str, text: str, *, handle: str = "bagless", reply_to: str | None = None,
         minutes: int = 0, network: str = "x", root: str | None = CARD_ID,
         **extra: str) -> Mention:
    return Mention(network=network, external_id=external_id, text=text,
                   author=Author(handle=handle, name=handle.title(), followers=50),
                   url=f"https://x.com/{handle}/status/{external_id}",
                   created_at=NOW + timedelta(minutes=minutes), lang="en",
                   mentions_brand=True, in_reply_to_id=reply_to, conversation_id=root,
                   extra=dict(extra))


@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def card(factory) -> int:
    """A lost-bag card, answered by AGENT and tagged: the case looked done."""
    with session_scope(factory) as s:
        (card_id,) = store_mentions(s, [post(CARD_ID, "@NorthwindAir where is my bag?",
                                             root=CARD_ID, minutes=-60)], RULES,
                                    now=NOW - timedelta(minutes=59)).new_mention_ids
        draft = models.Draft(mention_id=card_id, text="So sorry, DM us", author=AGENT,
                             created_at=NOW - timedelta(minutes=40))
        s.add(draft)
        s.flush()
        s.add(models.Reply(mention_id=card_id, draft_id=draft.id, network="x",
                           idempotency_key=f"reply:{draft.id}", state="sent",
                           network_id=OUR_REPLY, sent_by=AGENT, sent_at=NOW - timedelta(minutes=30)))
        s.add(models.OutcomeTag(mention_id=card_id, outcome="resolved", tagged_by=AGENT))
        s.execute(update(models.Mention).where(models.Mention.id == card_id).values(
            status="closed", outcome="resolved", claimed_by=AGENT, closed_at=NOW,
            slack_channel="C0BAGGAGE01", slack_ts="1800000000.000100",
            first_response_at=NOW - timedelta(minutes=30), sla_due_at=None, sla_next_at=None))
    return card_id


def rows(factory, model, *where):
    with session_scope(factory) as s:
        got = s.scalars(select(model).where(*where).order_by(model.id)).all()
        s.expunge_all()
        return got


def mention(factory, mention_id: int) -> models.Mention:
    with session_scope(factory) as s:
        m = s.get(models.Mention, mention_id)
        s.expunge(m)
        return m


def ingest(factory, *posts: Mention, now: datetime = NOW):
    with session_scope(factory) as s:
        return store_mentions(s, list(posts), RULES, now=now)


def test_an_answer_to_our_reply_joins_the_thread_and_reopens_the_card(factory, card):
    team = mention(factory, card).team
    got = ingest(factory, post("1990000000000000003", "@NorthwindAir 3 hours and still no "
                                                         "bag. This is a disgrace.",
                               reply_to=OUR_REPLY, minutes=5))
    assert got.new_mention_ids == [] and got.thread_posts == 1
    assert len(rows(factory, models.Mention)) == 1  # no new card
    (follow,) = rows(factory, models.ThreadPost)
    assert (follow.mention_id, follow.role, follow.author_handle) == (card, "follow_up", "bagless")
    m = mention(factory, card)
    assert (m.status, m.claimed_by, m.team, m.outcome) == ("claimed", AGENT, team, None)
    assert (m.follow_ups, m.reopens, m.reply_to_post_id) == (1, 1, follow.id)
    assert m.awaiting_since == NOW + timedelta(minutes=5)
    assert m.sla_due_at is not None and m.sla_due_at > NOW  # the clock restarted
    assert rows(factory, models.OutcomeTag) == []  # it can be tagged again
    (reopen,) = rows(factory, models.AuditEvent, models.AuditEvent.action == "reopen")
    assert (reopen.from_status, reopen.to_status, reopen.detail["outcome"],
            reopen.detail["tags"]) == ("closed", "claimed", "resolved", ["resolved"])
    queued = rows(factory, models.OutboxMessage, models.OutboxMessage.mention_id == card,
                  models.OutboxMessage.kind != OutboxKind.CARD)
    assert [(q.kind, q.payload.get("type"), q.payload.get("notify")) for q in queued] == [
        ("thread", "thread_post", AGENT), ("update", None, None)]
    assert queued[0].dedupe_key == f"post:{follow.id}"


def test_the_same_follow_up_fetched_twice_is_stored_and_posted_once(factory, card):
    answer = post("1990000000000000003", "@NorthwindAir still nothing", reply_to=OUR_REPLY)
    ingest(factory, answer)
    again = ingest(factory, answer, now=NOW + timedelta(minutes=1))
    assert (again.duplicates, again.thread_posts) == (1, 0)
    assert len(rows(factory, models.ThreadPost)) == 1
    assert mention(factory, card).follow_ups == 1
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(models.OutboxMessage).where(
            models.OutboxMessage.kind == OutboxKind.THREAD)) == 1


def test_strangers_are_context_and_a_new_customer_gets_a_card(factory, card):
    got = ingest(factory,
                 post("1990000000000000004", "@NorthwindAir same here!", handle="other",
                      reply_to=CARD_ID),
                 post("1990000000000000005", "@NorthwindAir lovely flight today",
                      handle="newbie", reply_to=None, root=None))
    assert len(got.new_mention_ids) == 1 and got.thread_posts == 1
    (context,) = rows(factory, models.ThreadPost)
    assert context.role == "context"
    m = mention(factory, card)
    assert (m.status, m.follow_ups) == ("closed", 0)  # context reopens nothing


def test_the_customer_writing_again_under_their_own_post_is_a_follow_up(factory, card):
    ingest(factory, post("1990000000000000006", "@NorthwindAir hello??", reply_to=CARD_ID))
    assert [p.role for p in rows(factory, models.ThreadPost)] == ["follow_up"]


def test_a_follow_up_fetched_before_its_parent_joins_by_the_root(factory, card):
    # The customer's earlier message (…07) never reached us; X still names the root.
    ingest(factory, post("1990000000000000008", "@NorthwindAir and now?",
                         reply_to="1990000000000000007", minutes=9))
    ingest(factory, post("1990000000000000007", "@NorthwindAir any news?",
                         reply_to=OUR_REPLY, minutes=7), now=NOW + timedelta(minutes=10))
    posts = rows(factory, models.ThreadPost)
    assert [(p.external_id[-1], p.role) for p in posts] == [("8", "follow_up"),
                                                            ("7", "follow_up")]
    m = mention(factory, card)
    # The latest message stays the one a reply answers, whatever order they came in.
    assert (m.follow_ups, m.reply_to_post_id) == (2, posts[0].id)


def test_a_reply_to_a_deleted_post_with_no_root_is_a_card_of_its_own(factory, card):
    got = ingest(factory, post("1990000000000000009", "@NorthwindAir replying to a gone post",
                               reply_to="1990000000000000099", root="1990000000000000099"))
    assert len(got.new_mention_ids) == 1 and got.thread_posts == 0


def test_a_parent_and_its_follow_up_in_one_fetch(factory):
    got = ingest(factory,
                 post("1990000000000000011", "@NorthwindAir and it is raining", minutes=2,
                      reply_to="1990000000000000010", root="1990000000000000010"),
                 post("1990000000000000010", "@NorthwindAir my flight is late", minutes=1,
                      reply_to=None, root="1990000000000000010"))
    assert len(got.new_mention_ids) == 1 and got.thread_posts == 1
    (card,) = rows(factory, models.Mention)
    assert card.external_id == "1990000000000000010"
    assert (card.status, card.follow_ups) == ("new", 1)


def test_the_brand_answering_elsewhere_stops_the_clock_and_its_own_replies_are_ignored(
        factory, card):
    ingest(factory, post("1990000000000000012", "@NorthwindAir hello??", reply_to=OUR_REPLY))
    assert mention(factory, card).sla_due_at is not None
    got = ingest(factory,
                 # socialbot's own reply, read back by a search: never a loop
                 post(OUR_REPLY, "So sorry, DM us", handle="NorthwindAir", reply_to=CARD_ID,
                      by_brand="1"),
                 # a colleague answering in the X app
                 post("1990000000000000013", "@bagless found it, on its way", minutes=3,
                      handle="NorthwindAir", reply_to="1990000000000000012", by_brand="1"),
                 # the brand answering itself
                 post("1990000000000000014", "(and sorry again)", minutes=4,
                      handle="NorthwindAir", reply_to="1990000000000000013", by_brand="1"),
                 now=NOW + timedelta(minutes=5))
    assert got.new_mention_ids == []
    roles = [(p.external_id[-2:], p.role) for p in rows(factory, models.ThreadPost)]
    assert roles == [("12", "follow_up"), ("13", "outside"), ("14", "outside")]
    m = mention(factory, card)
    assert (m.awaiting_since, m.sla_due_at, m.status) == (None, None, "claimed")


def test_an_angrier_follow_up_raises_the_priority_and_says_why(factory, card):
    before = mention(factory, card).priority
    ingest(factory, post("1990000000000000015", "@NorthwindAir I'm calling my lawyer, this "
                                                "is theft", reply_to=OUR_REPLY))
    m = mention(factory, card)
    assert m.priority < before and "raised from" in (m.priority_reason or "")
    assert "legal" in m.risk and m.approval_required  # riskier: the card says so from now on
    ingest(factory, post("1990000000000000016", "@NorthwindAir thanks, all good now",
                         reply_to=OUR_REPLY, minutes=1))
    assert mention(factory, card).priority == m.priority  # never lowered


@pytest.mark.parametrize("network, parent_key", [("mastodon", "in_reply_to_id"),
                                                 ("bluesky", "in_reply_to_id")])
def test_mastodon_and_bluesky_follow_ups_keep_what_a_reply_needs(factory, network, parent_key):
    root = "at://did:plc:c/app.bsky.feed.post/1" if network == "bluesky" else "1101"
    first = dataclasses.replace(post(root, "@northwind my bag", network=network,
                                     root=root if network == "bluesky" else None),
                                url=None)
    ingest(factory, first)
    follow = dataclasses.replace(
        post(root + "2", "@northwind still nothing", network=network, minutes=3,
             reply_to=root, root=root if network == "bluesky" else None,
             visibility="direct", uri=root + "2", cid="bafy2", root_uri=root, root_cid="bafy1"),
        url=None)
    ingest(factory, follow)
    (p,) = rows(factory, models.ThreadPost)
    assert (p.role, p.extra["visibility"], p.extra["root_uri"]) == ("follow_up", "direct", root)


def test_the_report_counts_conversations_replies_resolution_and_reopens(factory, card):
    ingest(factory, post("1990000000000000017", "@NorthwindAir hello??", reply_to=OUR_REPLY),
           post("1990000000000000018", "@NorthwindAir a new question", handle="newbie",
                reply_to=None, root=None))
    with session_scope(factory) as s:
        s.execute(update(models.Mention).where(models.Mention.id == card).values(
            status="closed", closed_at=NOW + timedelta(minutes=20)))
    with session_scope(factory) as s:
        r = compute_report(s, RULES, parse_period("7d", NOW + timedelta(hours=1)),
                           now=NOW + timedelta(hours=1), tz_name="UTC")
    c = r.conversations
    assert c is not None
    assert (c.conversations, c.follow_ups, c.replies, c.reopened, c.handled) == (1, 1, 1, 1, 1)
    assert (c.replies_per_conversation, c.reopen_rate) == (1.0, 1.0)
    assert c.resolution.count == 1 and c.resolution.median == 79 * 60  # arrival → closed
    assert r.total == 2  # a follow-up is not a mention: first-response figures keep meaning
    shown = json.dumps(report_blocks(r), ensure_ascii=False)
    assert "*Conversations:* 1 · 1.0 replies each · 100% reopened" in shown
    assert r.as_json()["conversations"]["reopen_rate"] == 1.0


def test_a_500_post_thread_is_folded_and_the_card_stays_one_message(factory, card):
    crowd = [post(f"19900000000001{i:05d}", f"@NorthwindAir me too #{i}", handle=f"fan{i}",
                  reply_to=CARD_ID, minutes=i % 50) for i in range(497)]
    mine = [post(f"19900000000002{i:05d}", f"@NorthwindAir still waiting ({i})",
                 reply_to=OUR_REPLY, minutes=60 + i) for i in range(3)]
    got = ingest(factory, *crowd, *mine)
    assert got.new_mention_ids == [] and got.thread_posts == 500
    queued = rows(factory, models.OutboxMessage, models.OutboxMessage.mention_id == card,
                  models.OutboxMessage.kind != OutboxKind.CARD)
    kinds = [(q.kind, q.payload.get("type")) for q in queued]
    assert kinds.count(("thread", "thread_post")) == 19  # paced by the outbox, 1/s a channel
    (folded,) = [q for q in queued if q.payload.get("type") == "thread_folded"]
    assert len(folded.payload["post_ids"]) == 481
    assert kinds.count(("update", None)) == 1  # the card: one message, updated once
    told = [q.payload["notify"] for q in queued if q.payload.get("notify")]
    assert told == [AGENT]  # the claimer is told once, at the latest message
    shown = {q.payload.get("post_id") for q in queued}
    assert all(p.id in shown for p in rows(factory, models.ThreadPost,
                                           models.ThreadPost.role == "follow_up"))
    assert mention(factory, card).follow_ups == 3


def test_a_follow_up_while_a_draft_awaits_approval_marks_the_draft(factory, card):
    with session_scope(factory) as s:
        s.execute(update(models.Mention).where(models.Mention.id == card).values(
            status="pending_approval", outcome=None, closed_at=None))
        s.add(models.Draft(mention_id=card, text="We are on it", author=AGENT,
                           created_at=NOW - timedelta(minutes=1)))
    ingest(factory, post("1990000000000000019", "@NorthwindAir actually it arrived",
                         reply_to=OUR_REPLY))
    with session_scope(factory) as s:
        view = card_view(s, RULES, card, now=NOW + timedelta(minutes=3))
    assert view.status == "pending_approval"  # not reopened, not sent: the approver decides
    assert view.conversation is not None and view.conversation.draft_stale
    assert view.conversation.reply_to is not None
    assert view.conversation.reply_to.text == "@NorthwindAir actually it arrived"
    assert view.conversation.waiting_minutes == 3


def test_the_approvers_are_told_again_by_dm_when_the_customer_overtakes_the_draft(
        factory, card):
    """The approval DM is never redrawn: a follow-up while a draft awaits approval asks each
    approver the request went to again, with the customer's new message and the warning."""
    with session_scope(factory) as s:
        s.execute(update(models.Mention).where(models.Mention.id == card).values(
            status="drafted", outcome=None, closed_at=None))
        s.add(models.Draft(mention_id=card, text="We are on it", author=AGENT,
                           created_at=NOW - timedelta(minutes=1)))
        s.flush()
        m = s.get(models.Mention, card)
        desk.submit(Work(s, RULES, StaticDirectory({}), NOW - timedelta(minutes=1)), AGENT,
                    CardRef(card, m.version))
    ingest(factory, post("1990000000000000019", "@NorthwindAir actually it <!here> arrived",
                         reply_to=OUR_REPLY))
    ingest(factory, post("1990000000000000019", "@NorthwindAir actually it <!here> arrived",
                         reply_to=OUR_REPLY), now=NOW + timedelta(minutes=1))  # fetched again
    dms = rows(factory, models.OutboxMessage, models.OutboxMessage.kind == OutboxKind.DM)
    (follow,) = rows(factory, models.ThreadPost)
    asked = [d.channel for d in dms if "post_id" not in d.payload]  # the submit's request
    assert asked and [(d.channel, d.payload.get("post_id")) for d in dms] == [
        *((a, None) for a in asked), *((a, follow.id) for a in sorted(asked))]  # once again
    draw = Renderer(lambda: RULES, StaticDirectory({}), lambda: NOW + timedelta(minutes=2))
    with session_scope(factory) as s:
        again = draw(s, s.get(models.OutboxMessage, dms[1].id))
    shown = json.dumps(again)
    assert again["text"].startswith("The customer wrote again: approval needed")
    assert "actually it &lt;!here&gt; arrived" in shown and "<!here>" not in shown
    assert "written before the customer's last message" in shown
    assert "We are on it" in shown
    assert [e["action_id"] for b in again["blocks"] if b["type"] == "actions"
            for e in b["elements"]] == ["approve", "approve_edit", "reject"]


def test_a_follow_up_on_a_card_not_awaiting_approval_sends_no_dm(factory, card):
    ingest(factory, post("1990000000000000019", "@NorthwindAir hello?", reply_to=OUR_REPLY))
    assert rows(factory, models.OutboxMessage, models.OutboxMessage.kind == OutboxKind.DM) == []


def test_an_x_follow_up_that_does_not_mention_the_brand_is_not_what_a_reply_answers(
        factory, card):
    ingest(factory, post("1990000000000000020", "@NorthwindAir hello??", reply_to=OUR_REPLY))
    quiet = dataclasses.replace(post("1990000000000000021", "nobody answers", minutes=2,
                                     reply_to="1990000000000000020"), mentions_brand=False)
    ingest(factory, quiet)
    first, second = rows(factory, models.ThreadPost)
    m = mention(factory, card)
    assert (m.follow_ups, m.reply_to_post_id) == (2, first.id)  # X would refuse the second
    assert m.customer_replied_at == second.created_at


def test_a_reopened_card_is_noted_for_its_claimers_app_home(factory, card):
    assert HOME_NOTE == HOME
    with factory() as s, s.begin():
        store_mentions(s, [post("1990000000000000022", "@NorthwindAir hello??",
                                reply_to=OUR_REPLY)], RULES, now=NOW)
        note = dict(s.info[HOME])
    assert AGENT in note["users"] and note["teams"]


def test_facebook_comments_thread_under_the_customers_comment(factory):
    """Facebook: a reply's parent comment first, then the post the comments are under (the
    brand's own post is nobody's card: two customers commenting on it get two cards)."""
    def comment(cid: str, handle: str, parent: str | None) -> Mention:
        return dataclasses.replace(post(cid, "@Northwind my refund?", network="facebook",
                                        handle=handle, reply_to=parent, root="page_post1"),
                                   url=None)

    got = ingest(factory, comment("c1", "ana", None), comment("c2", "ben", None),
                 comment("c3", "ana", "c1"), comment("c4", "cara", "c1"))
    assert len(got.new_mention_ids) == 2 and got.thread_posts == 2
    assert [(p.external_id, p.role) for p in rows(factory, models.ThreadPost)] == [
        ("c3", "follow_up"), ("c4", "context")]
