"""Facebook and Instagram cards on older posts, without the webhook: the desk's posts and media
beyond the newest a poll lists are watched (bot.listening.watching), so a customer answering
under their carded comment is read by polling alone and joins the card's thread. Against the
fake Graph API over real HTTP, on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.listening.polling import poll_source
from tests.support.clock import Clock
from tests.support.fake_graph import GRAPH_NOW
from tests.support.gap_storm import rules_with
from tests.support.meta_watching import old_post_case

NOW = GRAPH_NOW
T = NOW.timestamp()


def thread_of(factory, card: str) -> tuple[dict[str, str], list[str]]:
    """The card's thread posts by role, and every card's external id."""
    with session_scope(factory) as s:
        posts = dict(s.execute(
            select(models.ThreadPost.external_id, models.ThreadPost.role)
            .join(models.Mention, models.Mention.id == models.ThreadPost.mention_id)
            .where(models.Mention.external_id == card)).all())
        return posts, list(s.scalars(select(models.Mention.external_id)))


@pytest.mark.parametrize("network", ["facebook", "instagram"])
def test_an_answer_under_an_old_post_is_polled_into_the_cards_thread(meta, engine, network):
    factory = make_session_factory(engine)
    clock = Clock(NOW - timedelta(minutes=30))
    case = old_post_case(network, meta, clock)
    src, rules = case.source(), rules_with(case.spec)
    assert poll_source(factory, src, rules, clock=clock).new == 1
    case.answer()  # the old post is no longer listed; no webhook
    clock.now = NOW
    outcome = poll_source(factory, src, rules, clock=clock)
    assert (outcome.status, outcome.new, outcome.threaded) == ("ok", 0, 2), outcome
    assert thread_of(factory, case.card) == (case.thread, [case.card])
    clock.now = NOW + timedelta(minutes=5)
    again = poll_source(factory, case.source(), rules, clock=clock)
    assert (again.status, again.new, again.threaded) == ("ok", 0, 0), again
