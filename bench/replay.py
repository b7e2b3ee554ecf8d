"""Replay throughput: bare VADER vs the replay pipeline (parse + enrich + route), same texts.

    python bench/replay.py [--n N] [--repeat R] [--stream LINES]

Texts: the airline tweets in `../shared/fixtures/sentiment/airline_twitter/Tweets_6col.csv`
(or `$SOCIALBOT_FIXTURES/sentiment/airline_twitter/...`), read where they are and never copied
into the project; when that folder is absent, the hand-made texts in tests/data are used
instead, and the script says so. The pipeline is timed as `socialbot replay --json` runs it:
`bot.offline.replay.run.run` on a CSV file, output to a sink that discards it. A temporary CSV (in the
system temp dir, deleted afterwards) is written only when --n differs from the file's rows.

The machine may be shared, so the three measurements (bare VADER, enrich + route, the pipeline)
are taken in interleaved rounds (V E P, V E P, ...), each timed slice by slice (SLICE mentions
a slice: the pipeline's through its output sink), and each figure is the sum over the slices
of the slice's best round. A busy spell elsewhere then spoils only the slices it overlaps, in
the rounds it overlaps; a whole round of the pipeline takes seconds, and on a busy machine
hardly any is undisturbed. The ratio is that VADER time over that pipeline time. For
comparison the script also prints the ratio of whole rounds (best round of each) and the
range of the per-round ratios: a wide range says the machine was busy.

Also streams a generated JSON Lines file of --stream lines (default 100,000) through
`run(..., as_json=True)` and prints how much the peak RSS grew meanwhile (it should not).

A benchmark, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from bot.domain.rules.load import load_rules  # noqa: E402
from bot.domain.scoring.enrich import enrich  # noqa: E402
from bot.domain.scoring.routing import route  # noqa: E402
from bot.offline.replay import input as replay_input  # noqa: E402
from bot.offline.replay import run as replay  # noqa: E402

AIRLINE = Path("sentiment") / "airline_twitter" / "Tweets_6col.csv"
TARGET_RATIO = 0.5
SLICE = 500  # mentions per timed slice (a few hundredths of a second of work)
NOW = datetime(2015, 2, 25, tzinfo=UTC)  # the airline tweets are from February 2015


class Discard(io.TextIOBase):
    """An output sink that throws the lines away, noting the time every `every` lines."""

    def __init__(self, every: int = 0) -> None:
        self.lines = 0
        self.every = every
        self.stamps = [time.perf_counter()]

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.lines += s.count("\n")
        if self.every and self.lines >= self.every * len(self.stamps):
            self.stamps.append(time.perf_counter())
        return len(s)


def fixtures_dir() -> Path:
    env = os.environ.get("SOCIALBOT_FIXTURES")
    return Path(env) if env else ROOT.parent / "shared" / "fixtures"


def load_texts() -> tuple[list[str], Path | None, str]:
    """(texts, the CSV they came from if it can be replayed as is, a description)."""
    path = fixtures_dir() / AIRLINE
    if path.is_file():
        with path.open(encoding="utf-8", newline="") as f:
            texts = [row["text"] for row in csv.DictReader(f) if row.get("text", "").strip()]
        return texts, path, f"{path} ({len(texts):,} airline tweets)"
    texts = []
    data = ROOT / "tests" / "data"
    with (data / "northwind_mentions.csv").open(encoding="utf-8", newline="") as f:
        texts += [row["text"] for row in csv.DictReader(f)]
    for m in replay_input.read_mentions(data / "northwind_x_pages.jsonl",
                                  load_rules(ROOT / "routing_rules.yaml")):
        if not isinstance(m, replay_input.Skipped):
            texts.append(m[1].text)
    return texts, None, (f"{path} is absent: using the {len(texts)} hand-made texts in "
                         "tests/data (figures are not comparable with the airline set)")


def interleaved(fns: dict[str, Callable[[], list[float]]],
                rounds: int) -> dict[str, list[list[float]]]:
    """Each function's slice times (wall clock) in each of `rounds` rounds, one call of each
    per round, in turn: a burst of load from other processes hits all of them, not one."""
    times: dict[str, list[list[float]]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(fn())
    return times


def sliced(items: list, work: Callable[[list], object]) -> list[float]:
    """Seconds `work` takes on each SLICE items of `items`, in order."""
    stamps = [time.perf_counter()]
    for i in range(0, len(items), SLICE):
        work(items[i:i + SLICE])
        stamps.append(time.perf_counter())
    return gaps(stamps)


def gaps(stamps: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(stamps)]


def best_slices(rounds: list[list[float]]) -> float:
    """The sum over the slices of each slice's best time among the rounds."""
    return sum(map(min, zip(*rounds, strict=True)))


def write_csv(path: Path, texts: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["tweet_id", "text"])
        for i, text in enumerate(texts, start=1):
            w.writerow([i, text])


def write_stream(path: Path, texts: list[str], n: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({
                "id": str(10**15 + i), "network": "x", "text": texts[i % len(texts)],
                "author": {"username": f"user{i % 5000}", "name": "", "followers": i % 40_000},
                "created_at": "2015-02-24T11:35:00Z", "lang": "en"}) + "\n")


def max_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def stream_child(path: Path) -> int:
    rules = load_rules(ROOT / "routing_rules.yaml")
    with tempfile.TemporaryDirectory(prefix="socialbot-bench-") as tmp:
        warm = Path(tmp) / "warm.jsonl"
        with path.open(encoding="utf-8") as src, warm.open("w", encoding="utf-8") as dst:
            for _, line in zip(range(200), src, strict=False):
                dst.write(line)
        replay.run(str(warm), rules, as_json=True, out=Discard(), err=sys.stderr, now=NOW,
                   progress=False)
    before = max_rss_mb()
    sink = Discard()
    t0 = time.perf_counter()
    code = replay.run(str(path), rules, as_json=True, out=sink, err=sys.stderr, now=NOW,
                      progress=None)
    elapsed = time.perf_counter() - t0
    print(json.dumps({"code": code, "lines": sink.lines, "elapsed": elapsed, "before": before,
                      "after": max_rss_mb()}))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=0, help="texts to score (default: all in the file)")
    ap.add_argument("--repeat", type=int, default=5,
                    help="interleaved rounds; each figure is the best of them")
    ap.add_argument("--stream", type=int, default=100_000,
                    help="lines for the streaming run (0 to skip)")
    ap.add_argument("--stream-child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.stream_child:
        return stream_child(Path(args.stream_child))

    texts, source_csv, described = load_texts()
    n = args.n or len(texts)
    if n != len(texts):
        texts = (texts * (n // len(texts) + 1))[:n]
        source_csv = None
    rules = load_rules(ROOT / "routing_rules.yaml")
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 0
    print(f"Python {platform.python_version()} ({platform.python_implementation()}) on "
          f"{platform.system()} {platform.machine()}; CPUs: {os.cpu_count()} "
          f"({cpus} usable); load average {os.getloadavg()[0]:.2f}")
    print(f"texts: {described}")
    print(f"timing {n:,} texts: {args.repeat} interleaved rounds of bare VADER, enrich + route "
          f"and the pipeline;\neach figure is the best round of each slice of {SLICE} "
          f"mentions, summed over the slices\n")

    with tempfile.TemporaryDirectory(prefix="socialbot-bench-") as tmp:
        if source_csv is None:
            source_csv = Path(tmp) / "texts.csv"
            write_csv(source_csv, texts)

        analyzer = SentimentIntensityAnalyzer()
        mentions = [m for item in replay_input.read_mentions(source_csv, rules)
                    if not isinstance(item, replay_input.Skipped) for m in (item[1],)]
        assert len(mentions) == n, (len(mentions), n)
        # warm-up: the rules' analyzer and patterns are built on first use
        for m in mentions[:200]:
            analyzer.polarity_scores(m.text)
            route(m, enrich(m, rules, now=NOW), rules)

        def bare_vader() -> list[float]:
            score = analyzer.polarity_scores

            def work(chunk: list[str]) -> None:
                for t in chunk:
                    score(t)

            return sliced(texts, work)

        def enrich_route() -> list[float]:
            def work(chunk: list) -> None:  # a stage at a time, as replay.run does
                scored = [enrich(m, rules, now=NOW) for m in chunk]
                for m, e in zip(chunk, scored, strict=True):
                    route(m, e, rules)

            return sliced(mentions, work)

        def pipeline() -> list[float]:
            sink = Discard(every=SLICE)
            code = replay.run(str(source_csv), rules, as_json=True, out=sink, err=sys.stderr,
                              now=NOW, progress=False)
            assert code == 0 and sink.lines == n, (code, sink.lines)
            if sink.lines % SLICE:  # the last, shorter slice
                sink.stamps.append(time.perf_counter())
            return gaps(sink.stamps)

        times = interleaved({"vader": bare_vader, "scoring": enrich_route, "pipe": pipeline},
                            args.repeat)
        t_vader, t_scoring, t_pipe = (best_slices(times[k]) for k in ("vader", "scoring", "pipe"))
        ratio = t_vader / t_pipe
        whole = {k: [sum(r) for r in rounds] for k, rounds in times.items()}
        per_round = [v / p for v, p in zip(whole["vader"], whole["pipe"], strict=True)]
        print(f"bare VADER polarity_scores       {n / t_vader:>9,.0f} mentions/s")
        print(f"enrich + route (pre-parsed)      {n / t_scoring:>9,.0f} mentions/s")
        print(f"replay pipeline (parse+enrich+route+JSON out)"
              f"\n                                 {n / t_pipe:>9,.0f} mentions/s")
        print(f"ratio pipeline / bare VADER      {ratio:>9.2f}   (target >= {TARGET_RATIO}: "
              f"{'met' if ratio >= TARGET_RATIO else 'NOT met'})")
        print(f"  whole rounds instead: {min(whole['vader']) / min(whole['pipe']):.2f} (best of "
              f"{args.repeat} each), per-round ratios {min(per_round):.2f} to "
              f"{max(per_round):.2f};\n  load average now {os.getloadavg()[0]:.2f} (a wide "
              f"range or a high load: the machine is busy, figures are noisy)")
        print(f"  per mention: VADER {1e6 * t_vader / n:.0f} us, enrich+route "
              f"{1e6 * t_scoring / n:.0f} us, replay's own parse+output "
              f"{1e6 * max(0.0, t_pipe - t_scoring) / n:.0f} us")

        if args.stream:
            path = Path(tmp) / "stream.jsonl"
            write_stream(path, texts, args.stream)
            size = path.stat().st_size
            # a fresh process, so the peak RSS is the replay's alone, not this script's lists
            child = subprocess.run([sys.executable, __file__, "--stream-child", str(path)],
                                   capture_output=True, text=True, check=False)
            if child.returncode != 0:
                print(f"\nstreaming run failed:\n{child.stderr}")
                return 1
            r = json.loads(child.stdout)
            print(f"\nstreaming {args.stream:,} JSON lines ({size / 1e6:.0f} MB) in a fresh process: "
                  f"exit {r['code']}, {r['lines']:,} decisions, "
                  f"{args.stream / r['elapsed']:,.0f} mentions/s; peak RSS {r['before']:.0f} MB "
                  f"after warm-up, {r['after']:.0f} MB at the end "
                  f"(+{r['after'] - r['before']:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
