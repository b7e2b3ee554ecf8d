"""Work run at once by several workers, as replicas run it: each worker in its own thread with
its own engine and sessions on the same database, all released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from bot.kit.db import make_engine, make_session_factory

T = TypeVar("T")


def run_at_once(url: str, work: Callable[[sessionmaker[Session]], T], *, workers: int = 2,
                timeout: float = 30.0) -> list[T]:
    """`work(factory)` in `workers` threads at once, each with its own engine on `url`; the
    results, in the order the workers finished. A worker's exception fails the test, once
    every thread has ended and every engine is disposed."""
    engines = [make_engine(url) for _ in range(workers)]
    barrier = threading.Barrier(workers)
    results: list[T] = []
    errors: list[BaseException] = []

    def run(engine) -> None:
        factory = make_session_factory(engine)
        barrier.wait()
        try:
            results.append(work(factory))
        except Exception as exc:  # reported below, with the rows
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    for e in engines:
        e.dispose()
    assert errors == []
    assert not any(t.is_alive() for t in threads), f"a worker still runs after {timeout} s"
    return results
