"""The garbage collector's pauses during a bench run, and which of them fell on clicks.

A collection holds the interpreter lock from start to end: no other thread of the process runs,
so an ack in flight waits for all of it. A full (oldest-generation) collection walks every
object the process tracks; young ones only the newest. `GcPauses` records each collection's
start and length (`gc.callbacks`, on `time.perf_counter`, the clock `bench.desk.fire` stamps
its bursts' windows with: CLOCK_MONOTONIC, the same in the clicking child process).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import Any

SHOWN_MS = 20.0  # young collections shorter than this are not listed


@dataclass(frozen=True)
class Pause:
    start: float
    seconds: float
    generation: int


@dataclass
class GcPauses:
    pauses: list[Pause] = field(default_factory=list)
    _started: float = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._started = now
            return
        if info["generation"] == 2 or now - self._started >= SHOWN_MS / 1000:
            self.pauses.append(Pause(self._started, now - self._started, info["generation"]))

    def start(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def stop(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def summary(self, windows: list[tuple[float, float]]) -> str:
        """Full collections, their longest and total, and how many fell inside `windows`."""
        full = [p for p in self.pauses if p.generation == 2]
        young = [p for p in self.pauses if p.generation < 2]
        young_text = (f"; young collections over {SHOWN_MS:.0f} ms: {len(young)}" + (
            f" (longest {max(p.seconds for p in young) * 1000:.0f} ms)" if young else ""))
        if not full:
            return "no full collection" + young_text
        hit = [p for p in full if any(p.start < end and start < p.start + p.seconds
                                      for start, end in windows)]
        text = (f"{len(full)} full collection{'s' if len(full) > 1 else ''}, longest {max(p.seconds for p in full) * 1000:.0f}"
                f" ms, {sum(p.seconds for p in full):.1f} s in all")
        return text + f"; {len(hit)} during a burst's clicks" + (
            " (" + ", ".join(f"{p.seconds * 1000:.0f} ms" for p in hit) + ")" if hit else ""
        ) + young_text
