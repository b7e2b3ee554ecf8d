"""The fake Graph API hosts the Meta networks' tests run against, over real HTTP, their clocks
at GRAPH_NOW (those tests' `NOW`): `meta` (Facebook and Instagram), `threads` (Threads)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_graph import GRAPH_NOW
from tests.support.fake_meta import FakeMeta
from tests.support.fake_threads import FakeThreads


@pytest.fixture
def meta() -> Iterator[FakeMeta]:
    with FakeMeta(clock=GRAPH_NOW.timestamp) as fake:
        yield fake


@pytest.fixture
def threads() -> Iterator[FakeThreads]:
    with FakeThreads(clock=GRAPH_NOW.timestamp) as fake:
        yield fake
