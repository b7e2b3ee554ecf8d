"""Is memory flat across storms? The same storm several times in one process (issue 18).

    python bench/storm_memory.py [--storms 4] [--n 3000] [--pg URL [--replicas 3]]

`bench/storm.py` prints one storm's resident memory (before, peak, end): it grows by tens of
MiB while 30,000 posts go through, which alone cannot tell a leak from caches and the
allocator keeping what it was given. Here storm after storm runs in the same process, each on
a fresh database (SQLite in a temporary directory, or a throwaway PostgreSQL database), with
`bench/storm.py`'s own `run` (the real X source over HTTP to the fake X, the real outbox
sender, no clicks). After each storm: the resident memory, then again after
`gc.collect()` and glibc's `malloc_trim(0)` (what the process holds once the allocator gives
back its free pages), and Python's own allocated blocks (`sys.getallocatedblocks`). Flat
means the storms after the first leave these where the first left them; a leak grows them by
about the same amount at every storm. A benchmark: it exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import itertools
import logging
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.storm import SPEC, ThrowawayDatabase, rss_mib, run  # noqa: E402


def trimmed_mib() -> float:
    """Resident memory once garbage is collected and glibc returns its free pages."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the plain figure
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    return rss_mib()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--storms", type=int, default=4, help="storms in one process (default 4)")
    p.add_argument("--n", type=int, default=3000, help="mentions a storm (default 3000)")
    p.add_argument("--pg", help="a PostgreSQL server URL: each storm on a throwaway database")
    p.add_argument("--replicas", type=int, default=1, help="replicas (PostgreSQL only)")
    p.add_argument("--budget", type=float, default=1000.0,
                   help="the source's monthly_budget in USD (default 1000: every storm is "
                        "read in full, none deferred)")
    args = p.parse_args(argv)
    if args.replicas > 1 and not args.pg:
        p.error("--replicas needs --pg: SQLite serves one process")
    logging.basicConfig(level=logging.ERROR)
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}; {args.storms} storms of {args.n:,} mentions in one "
          f"process, {'SQLite' if not args.pg else f'PostgreSQL x{args.replicas}'}, "
          f"every {SPEC.every.total_seconds():.0f}s")
    print(f"{'storm':>5} {'stored':>15} {'RSS end':>8} {'trimmed':>8} {'blocks':>10} "
          f"{'wall':>7} {'load':>5}")
    before = (trimmed_mib(), sys.getallocatedblocks())
    print(f"{'-':>5} {'':>15} {rss_mib():>7.0f}M {before[0]:>7.0f}M {before[1]:>10,}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(1, args.storms + 1):
            db = ThrowawayDatabase(args.pg) if args.pg else None
            url = db.url if db else f"sqlite:///{Path(tmp) / f'storm{i}.db'}"
            try:
                r = run(args.n, int(SPEC.every.total_seconds()), keep_gaps=True, url=url,
                        replicas=args.replicas, tmp=Path(tmp), budget=args.budget,
                        stop_when_read=True)
            finally:
                if db is not None:
                    db.drop()
                else:
                    Path(tmp, f"storm{i}.db").unlink(missing_ok=True)
            end, trimmed, blocks = rss_mib(), trimmed_mib(), sys.getallocatedblocks()
            rows.append((trimmed, blocks))
            print(f"{i:>5} {r['stored']:>7,}/{r['expected']:<7,} {end:>7.0f}M {trimmed:>7.0f}M "
                  f"{blocks:>10,} {r['wall']:>6.1f}s {os.getloadavg()[0]:>5.1f}")
    if len(rows) > 1:
        per = [(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(rows)]
        print("after the first storm, each storm added: "
              + ", ".join(f"{mib:+.1f} MiB / {blocks:+,} blocks" for mib, blocks in per)
              + f" (the first: {rows[0][0] - before[0]:+.1f} MiB / "
                f"{rows[0][1] - before[1]:+,} blocks)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
