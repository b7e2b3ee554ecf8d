"""`bot.networks.gaps.Backfill`, the one way token-paged sources read, against a list of posts
paged the way the networks page (newest first, a token to the next page). The networks' own
fakes over HTTP test each source (tests/integration/networks, tests/faults/test_kill_gaps.py);
these pin the rules they share."""

from __future__ import annotations

import pytest

from bot.networks.gaps import Backfill, Gap, Page, TokenRefused, describe, dump, load

B = 1_764_950_400  # 2025-12-05T16:00:00Z: bounds are epoch seconds, as most cursors


class Listing:
    """Posts by epoch second, newest first; a page token is the index of the next post."""

    def __init__(self, times: list[int], size: int) -> None:
        self.times = sorted(times, reverse=True)
        self.size = size
        self.calls = 0

    def add(self, *times: int) -> None:
        self.times = sorted([*self.times, *times], reverse=True)

    def page(self, token: str | None, floor: str | None, scope: str | None) -> Page[int]:
        self.calls += 1
        start = int(token or 0)
        items = self.times[start:start + self.size]
        more = start + self.size < len(self.times)
        return Page(items, next=str(start + self.size) if more else None,
                    reached=floor is not None and any(t < int(floor) for t in items),
                    oldest=str(min(items)) if items else None)


def newer(run: Backfill[int]) -> set[int]:
    return {t for t, floor in run.items if floor is None or t >= int(floor)}


def test_a_burst_past_the_cap_is_a_gap_read_by_the_next_polls_then_closed():
    net = Listing(list(range(B, B + 26)), size=5)  # the cursor (B) and 25 newer
    run = Backfill.of(net.page, None)
    assert run.read_new(str(B), 2) and run.opened and run.pages == 2
    run.read_gaps(0)  # the gap this poll opened waits for the next poll
    assert newer(run) == set(range(B + 16, B + 26)) and run.backfill_items == 0
    state, seen = run.state(), newer(run)
    assert load(state)[0].token == "10"
    assert describe(state) == ("posts older than 2025-12-05T16:00:16Z and newer than "
                               "2025-12-05T16:00:00Z")
    polls = 0
    while state:
        net.add(B + 100 + polls)  # one new post a poll: read first, then the gap
        run = Backfill.of(net.page, state)
        assert not run.read_new(str(max(seen)), 2)
        run.read_gaps(2 - run.pages)
        seen |= newer(run)
        state, polls = run.state(), polls + 1
    assert seen >= set(range(B, B + 26)) and polls <= 4


def test_an_overlap_read_again_opens_no_gap_and_never_starves_the_old_one():
    """Threads and Meta read 2 minutes before the cursor again: the reading stops at the page
    that holds the cursor (a storm's overlap is not read again each poll), a cap reached
    below the cursor opens no gap (read before), and the old gap still gets a page."""
    net = Listing(list(range(B, B + 30)), size=5)
    old = dump(load(f'[{{"older_than": "{B + 5}", "newer_than": "{B - 10}", "token": "25"}}]'))
    run = Backfill.of(net.page, old)
    assert not run.read_new(str(B - 100), 2, cursor=str(B + 29))  # the first page holds it
    assert run.opened == [] and run.pages == 1
    run.read_gaps(0)
    assert run.backfill_pages == 1 and run.state() is None  # the old gap closed
    capped = Backfill.of(net.page, None)
    assert capped.read_new(str(B - 100), 2, cursor=str(B + 27)) is False  # page 1 reaches it
    net.add(*range(B + 30, B + 40))  # ten newer: the cap stops above the cursor, at B + 30
    late = Backfill.of(net.page, None)
    assert late.read_new(str(B - 100), 2, cursor=str(B + 29)) and late.opened
    assert late.opened[0].newer_than == str(B + 29)  # the gap ends at the cursor


def test_a_first_poll_keeps_no_gap_and_a_gap_keeps_its_scope():
    net = Listing(list(range(100)), size=10)
    first = Backfill.of(net.page, None)
    assert first.read_new(None, 1) and first.state() is None
    scoped = Backfill.of(net.page, None)
    scoped.read_new("0", 1, scope="555_42")
    assert load(scoped.state())[0].scope == "555_42"
    assert describe(scoped.state()).endswith("under 555_42")


class Expiring(Listing):
    """A listing whose tokens expire: only those it gave since `expire()` are honoured."""

    def __init__(self, times: list[int], size: int) -> None:
        super().__init__(times, size)
        self.given: set[str] = set()

    def expire(self) -> None:
        self.given.clear()

    def page(self, token: str | None, floor: str | None, scope: str | None) -> Page[int]:
        if token is not None and token not in self.given:
            self.calls += 1
            raise TokenRefused(f"invalid page token {token}")
        page = super().page(token, floor, scope)
        if page.next:
            self.given.add(page.next)
        return page


def test_a_refused_token_reads_the_gap_again_from_the_newest_page_and_loses_nothing():
    net = Expiring(list(range(B, B + 26)), size=5)
    run = Backfill.of(net.page, None)
    assert run.read_new(str(B), 2)
    state, seen = run.state(), newer(run)
    net.expire()  # the gap's token is now refused (Google's and YouTube's expire)
    net.add(B + 100)
    polls = restarts = 0
    while state:
        run = Backfill.of(net.page, state)
        run.read_new(str(max(seen)), 2)
        run.read_gaps(3 - run.pages)
        seen |= newer(run)
        state, polls, restarts = run.state(), polls + 1, restarts + run.restarted
        assert polls < 10
    assert seen >= set(range(B, B + 26)) | {B + 100}
    assert restarts == 1  # refused once; the tokens given after it are honoured


def test_a_refusal_without_a_token_is_the_sources_error_not_a_restart():
    def refusing(token: str | None, floor: str | None, scope: str | None) -> Page[int]:
        raise TokenRefused("no token given, still refused")

    run = Backfill.of(refusing, dump([Gap(older_than=str(B + 5), newer_than=str(B))]))
    with pytest.raises(TokenRefused):
        run.read_gaps(2)


class Ending(Listing):
    """A listing that ends at `depth` posts (Reddit's end at about 1,000): past it, a token
    gets an empty page, as after a removed post."""

    def __init__(self, times: list[int], size: int, depth: int) -> None:
        super().__init__(times, size)
        self.depth = depth

    def page(self, token: str | None, floor: str | None, scope: str | None) -> Page[int]:
        if token is not None and int(token) >= self.depth:
            self.calls += 1
            raise TokenRefused("nothing listed after it")
        return super().page(token, floor, scope)


def test_a_listing_that_ends_above_the_floor_closes_the_gap_after_one_more_reading():
    net = Ending(list(range(B, B + 40)), size=5, depth=20)
    run = Backfill.of(net.page, None)
    assert run.read_new(str(B), 2)
    state, polls, closed = run.state(), 0, 0
    while state:
        run = Backfill.of(net.page, state)
        run.read_gaps(3)
        state, polls, closed = run.state(), polls + 1, closed + run.unreachable
        assert polls < 10
    assert closed == 1 and "lists nothing older" in run.refusal_notes("Reddit")[0]
