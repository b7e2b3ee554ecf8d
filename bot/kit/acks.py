"""Ack first: Slack requests not yet answered, and a wait for them to be.

A click is acknowledged before its work (Bolt's listener calls `ack()` first), but the work of
the clicks acked first then shares the interpreter lock with the requests still on their way
to their ack: in a burst of 50 clicks on one card (bench/desk.py's race), the 49 losers' unit
of work, refusal audit and ephemeral note made the last acks wait (ack p99 230-270 ms on a
loaded 2-CPU box; 70-90 ms with no work after the ack). So the HTTP layer counts the Slack
requests between arrival and answer (`bot.kit.http.wsgi_app`), and a unit of work waits, after
its ack, until none is left (`bot.slack.services.Services.work`), at most `MAX_WAIT`: under a
steady stream of clicks the count is rarely zero, and work must not starve.

One per process (`ACKS`), like the interpreter lock whose turns it shares out.

`share_turns` shortens those turns: Python hands the lock to a waiting thread after 5 ms, and an
ack waits for the lock at each step (the request read, each query, the answer written) behind
every busy thread of the process — a leader polls, stores and sends beside its acks. At 1 ms
the storm bench's acks (3,000 at once on SQLite, 50 concurrent clicks, load 5-6) went from
p99 155 and 265 ms to 85 and 80 ms; at 30,000 on PostgreSQL with 3 replicas (load 2) two runs
each did not separate them (316 and 474 ms at 5 ms, 282 and 478 ms at 1 ms); with the machine
idle, no change either way (bench/desk.py, the work after the acks done as soon).

`collect_less` keeps the garbage collector from stopping acks: a collection holds the lock to
its end, and in that 30,000 storm the collector walked the whole heap 14 times a run (longest
269 ms, 3.1 s in all, load 2; 19 of 290-840 ms at load 7-8) — the length of the tail bursts of
earlier runs (bench/storm.py now prints the pauses and which fell on a burst). With start-up
frozen and young collections every 10,000 allocations: 3 full collections (longest 82 ms,
0.2 s in all), young ones at most 54 ms; ack p99 93 ms. Every 50,000 made 1 full collection
but 160 young ones over 20 ms (up to 344 ms, load 7): a young collection frees what it finds.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable

MAX_WAIT = 0.3  # seconds a unit of work yields to unanswered requests, at most
SWITCH_INTERVAL = 0.001  # seconds a thread holds the interpreter lock while others wait
YOUNG_COLLECTION_EVERY = 10_000  # allocations between young collections (Python's default 700)


def share_turns() -> None:
    """Hand the interpreter lock round every SWITCH_INTERVAL (the process serves acks)."""
    sys.setswitchinterval(SWITCH_INTERVAL)


def collect_less() -> None:
    """Fewer and shorter stops of the garbage collector, once the process is set up.

    A collection holds the interpreter lock to its end; a full one walks every object the
    process tracks. What start-up built (modules, the app, the engine) lives as long as the
    process, so it is frozen out of every later collection; and young collections come every
    YOUNG_COLLECTION_EVERY allocations, so the objects of a poll or a click mostly die before
    one and are never promoted: full collections, which come once enough objects have been
    promoted, come less often. Only for the serving process: frozen objects are never freed."""
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])


class Acks:
    """How many requests are waiting for their answer; `wait_answered` until none are."""

    def __init__(self, max_wait: float = MAX_WAIT) -> None:
        self.max_wait = max_wait
        self._pending = 0
        self._changed = threading.Condition()

    @property
    def pending(self) -> int:
        return self._pending

    def arrived(self) -> Callable[[], None]:
        """One request arrived; call what this returns when its answer starts (more calls
        are ignored: the answer and a `finally` may both say so)."""
        with self._changed:
            self._pending += 1
        done = threading.Lock()

        def answered() -> None:
            if done.acquire(blocking=False):
                with self._changed:
                    self._pending -= 1
                    if self._pending == 0:
                        self._changed.notify_all()

        return answered

    def wait_answered(self, timeout: float | None = None) -> bool:
        """Block until no request is waiting for its answer, or `timeout` seconds (default
        `max_wait`); whether none is."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0,
                                          timeout=self.max_wait if timeout is None else timeout)


ACKS = Acks()
