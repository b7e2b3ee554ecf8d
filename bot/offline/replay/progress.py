"""A one-line `\\r` progress bar for a long pass over a file, drawn on a terminal stream."""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["ProgressBar", "count_lines"]

_WIDTH = 30  # characters of bar


class ProgressBar:
    """Lines read of the file's total, items done and items per second, redrawn in place on
    `stream` at most ten times a second. `clear()` before writing anything else to `stream`."""

    def __init__(self, stream: TextIO, total_lines: int, noun: str = "items"):
        self._stream = stream
        self._total = max(1, total_lines)
        self._noun = noun
        self._start = self._last = time.monotonic()
        self._items = 0
        self._line = 0
        self._drawn = 0

    def tick(self, line: int) -> None:
        """One more item done, read up to `line`."""
        self._items += 1
        self._line = line
        if self._items & 127:
            return
        now = time.monotonic()
        if now - self._last >= 0.1:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        frac = min(1.0, self._line / self._total)
        filled = int(frac * _WIDTH)
        rate = self._items / max(now - self._start, 1e-9)
        text = (f"[{'#' * filled}{'.' * (_WIDTH - filled)}] {frac:4.0%}  {self._line:,}/"
                f"{self._total:,} lines  {self._items:,} {self._noun}  {rate:,.0f}/s")
        self._stream.write("\r" + text.ljust(self._drawn))
        self._drawn = len(text)
        self._stream.flush()

    def clear(self) -> None:
        """Blank the bar so that the next write starts on a clean line."""
        if self._drawn:
            self._stream.write("\r" + " " * self._drawn + "\r")
            self._drawn = 0

    def close(self) -> None:
        """Draw the bar complete and end its line."""
        self._line = max(self._line, self._total)
        self._draw(time.monotonic())
        self._stream.write("\n")
        self._stream.flush()


def count_lines(path: str) -> int:
    """The number of newlines in the file, read in 1 MB chunks; 0 when it cannot be read."""
    n = 0
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                n += chunk.count(b"\n")
    except OSError:
        return 0
    return n
