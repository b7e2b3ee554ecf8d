"""Two deliveries of one Slack event at once: both do the work, only one commit can record the
event id, and the loser's rollback is an expected outcome (logged at INFO), not a failure."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.kit import models
from bot.kit.db import make_session_factory
from bot.slack.events import EventRaceLost, EventSessions
from handlers.errors import on_error

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


class NoSlack:
    def __getattr__(self, name):
        raise AssertionError(f"no Slack call expected ({name})")


def test_the_losing_delivery_is_rolled_back_and_logged_at_info(engine, caplog):
    factory = make_session_factory(engine)
    first, second = (EventSessions(factory, "Ev0RACE", lambda: NOW) for _ in range(2))
    a, b = first(), second()
    a.commit()  # the first delivery's work commits, with the event id
    with pytest.raises(Exception) as caught:
        b.commit()  # the racing one's commit tries to record the same id
    b.rollback()
    a.close()
    b.close()
    assert isinstance(caught.value, EventRaceLost)
    with caplog.at_level(logging.INFO, logger="handlers.errors"):
        on_error(caught.value, {"type": "event_callback", "event_id": "Ev0RACE"}, NoSlack())
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert "concurrent delivery" in caplog.records[0].getMessage()
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(models.ProcessedEvent)) == 1


def test_other_integrity_errors_are_still_errors(engine, caplog):
    factory = make_session_factory(engine)
    with factory() as s:
        s.add(models.Source(id="dup", type="rss"))
        s.commit()
        s.add(models.Source(id="dup", type="rss"))
        with pytest.raises(Exception) as caught:
            s.commit()
    assert not isinstance(caught.value, EventRaceLost)
    with caplog.at_level(logging.INFO, logger="handlers.errors"):
        on_error(caught.value, {"type": "event_callback", "event_id": "Ev1"}, NoSlack())
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
