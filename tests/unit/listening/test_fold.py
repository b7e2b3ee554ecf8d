"""Folding a busy thread (bot.listening.follow_ups.fold): at most THREAD_POSTS_MAX messages per
card per fetch, the customer's and the brand's own kept before other people's context."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.conversation import Role
from bot.listening.follow_ups import THREAD_POSTS_MAX, ThreadItem, fold

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def posts(roles: list[Role]) -> list[ThreadItem]:
    return [ThreadItem(i, role, T0 + timedelta(seconds=i), "P3", "", True)
            for i, role in enumerate(roles)]


def test_a_quiet_thread_is_posted_whole_in_order():
    given = posts([Role.CONTEXT, Role.FOLLOW_UP, Role.OUTSIDE])
    assert fold(list(reversed(given))) == (given, [])


def test_a_busy_thread_keeps_the_customer_and_folds_the_crowd():
    given = posts([Role.CONTEXT] * 100 + [Role.FOLLOW_UP] * 3 + [Role.CONTEXT] * 100)
    shown, folded = fold(given)
    assert len(shown) == THREAD_POSTS_MAX - 1 and len(folded) == 203 - len(shown)
    assert [p.id for p in shown if p.role is Role.FOLLOW_UP] == [100, 101, 102]
    assert shown == sorted(shown, key=lambda p: p.at)  # still in the order they were written


def test_more_follow_ups_than_room_keeps_the_latest():
    given = posts([Role.FOLLOW_UP] * 50)
    shown, folded = fold(given)
    assert [p.id for p in shown] == list(range(50 - (THREAD_POSTS_MAX - 1), 50))
    assert [p.id for p in folded] == list(range(0, 50 - (THREAD_POSTS_MAX - 1)))
