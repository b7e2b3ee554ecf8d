"""`Services.work` lets at most WORK_AT_ONCE units of work run at once, and a thread that nests
units of work takes one slot, not one per level (else it would wait on itself)."""

from __future__ import annotations

import threading

from bot.slack.services import WorkGate


def test_at_most_size_threads_inside_and_nesting_takes_one_slot():
    gate = WorkGate(2)
    inside, most, lock = 0, 0, threading.Lock()
    release = threading.Event()

    def worker() -> None:
        nonlocal inside, most
        with gate.entered(), gate.entered():  # nested: still one slot
            with lock:
                inside += 1
                most = max(most, inside)
            release.wait(5)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for _ in range(50):  # until two are inside (the others wait at the gate)
        with lock:
            if inside == 2:
                break
        threading.Event().wait(0.01)
    with lock:
        assert inside == 2
    release.set()
    for t in threads:
        t.join(5)
    assert most == 2 and inside == 0


def test_a_slot_is_given_back_when_the_work_raises():
    gate = WorkGate(1)
    for _ in range(3):
        try:
            with gate.entered():
                raise RuntimeError("refused")
        except RuntimeError:
            pass
    entered = threading.Event()

    def enter() -> None:  # another thread: it would wait for ever on a slot not given back
        with gate.entered():
            entered.set()

    threading.Thread(target=enter, daemon=True).start()
    assert entered.wait(1)
