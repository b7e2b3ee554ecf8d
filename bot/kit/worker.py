"""A background worker: one daemon thread running the subclass's `_loop` until `stop()`.

The outbox sender and the App Home refresher are both one; `_wake` cuts the loop's waits
short (new work, or stopping), `_stop` tells it to finish the round in hand and return."""

from __future__ import annotations

import threading


class BackgroundWorker:
    thread_name = "worker"

    def __init__(self) -> None:
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the work in flight (if any)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        raise NotImplementedError
