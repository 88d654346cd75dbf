"""fortio's load report: call durations in fortio's histogram buckets, percentiles by linear
interpolation inside a bucket (as fortio computes them), codes with their shares, sizes."""

from __future__ import annotations

import math
import sys

#: fortio's bucket boundaries, in milliseconds (durations are kept in seconds).
BUCKETS_MS = (
    *range(0, 13),
    14,
    16,
    18,
    20,
    25,
    30,
    35,
    40,
    45,
    50,
    60,
    70,
    80,
    90,
    100,
    200,
    300,
    400,
    500,
    600,
    700,
    800,
    900,
    1000,
    2000,
    3000,
    4000,
    5000,
    7500,
    10000,
    20000,
    30000,
    40000,
    50000,
    60000,
    70000,
    80000,
    90000,
    100000,
)


class Series:
    """count, sum, sum of squares, min and max of a series of values."""

    def __init__(self) -> None:
        self.count = 0
        self.sum = 0.0
        self.squares = 0.0
        self.min = math.inf
        self.max = -math.inf

    def add(self, value: float) -> None:
        self.count += 1
        self.sum += value
        self.squares += value * value
        self.min = min(self.min, value)
        self.max = max(self.max, value)

    @property
    def avg(self) -> float:
        return self.sum / self.count if self.count else 0.0

    @property
    def stddev(self) -> float:
        if not self.count:
            return 0.0
        return math.sqrt(max(self.squares / self.count - self.avg**2, 0.0))

    def line(self, title: str) -> str:
        if not self.count:
            return f"{title} : count 0 avg 0 +/- 0 min 0 max 0 sum 0"
        return (
            f"{title} : count {self.count} avg {self.avg:.8g} +/- {self.stddev:.4g} "
            f"min {self.min:.8g} max {self.max:.8g} sum {self.sum:.8g}"
        )


class Stats:
    """What a load gathered: durations, codes, sizes, sockets and the peers they reached."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.series = Series()
        self.codes: dict[int, int] = {}
        self.header_sizes = Series()
        self.body_sizes = Series()
        self.sockets = 0
        self.peers: dict[str, int] = {}

    def add(self, code: int, seconds: float, header_size: int, body_size: int) -> None:
        self.durations.append(seconds)
        self.series.add(seconds)
        self.codes[code] = self.codes.get(code, 0) + 1
        self.header_sizes.add(header_size)
        self.body_sizes.add(header_size + body_size)


def histogram(values: list[float]) -> list[tuple[float, float, int]]:
    """``(start, end, count)`` of each non-empty bucket; the first starts at the minimum and
    the last ends at the maximum."""
    if not values:
        return []
    counts: dict[int, int] = {}
    for v in values:
        ms = v * 1000
        index = next((i for i, edge in enumerate(BUCKETS_MS) if ms <= edge), len(BUCKETS_MS))
        counts[index] = counts.get(index, 0) + 1
    low, high = min(values), max(values)
    rows = []
    for index in sorted(counts):
        start = BUCKETS_MS[index - 1] / 1000 if index > 0 else 0.0
        end = BUCKETS_MS[index] / 1000 if index < len(BUCKETS_MS) else high
        rows.append((max(start, low), min(end, high), counts[index]))
    return rows


def percentile(rows: list[tuple[float, float, int]], total: int, pct: float) -> float:
    """The value below which ``pct`` % of the calls fall (linear inside its bucket)."""
    wanted = total * pct / 100
    seen = 0
    for start, end, count in rows:
        if seen + count >= wanted:
            return start + (end - start) * (wanted - seen) / count
        seen += count
    return rows[-1][1] if rows else 0.0


def _go_duration(seconds: float) -> str:
    return f"{seconds * 1000:.6g}ms" if seconds < 1 else f"{seconds:.6g}s"


def print_report(stats: Stats, elapsed: float, threads: int, percentiles: list[float]) -> None:
    out = sys.stdout
    total = stats.series.count
    qps = total / elapsed if elapsed > 0 else 0.0
    out.write(f"Ended after {_go_duration(elapsed)} : {total} calls. qps={qps:.5g}\n")
    out.write(stats.series.line("Aggregated Function Time") + "\n")
    out.write("# range, mid point, percentile, count\n")
    rows = histogram(stats.durations)
    seen = 0
    for i, (start, end, count) in enumerate(rows):
        seen += count
        op = ">=" if i == 0 else ">"
        share = 100 * seen / total
        out.write(
            f"{op} {start:.6g} <= {end:.6g} , {(start + end) / 2:.6g} , {share:.2f}, {count}\n"
        )
    for pct in percentiles:
        out.write(f"# target {pct:g}% {percentile(rows, total, pct):.6g}\n")
    out.write(f"Sockets used: {stats.sockets} (for perfect keepalive, would be {threads})\n")
    out.write("Uniform: false, Jitter: false, Catchup allowed: true\n")
    out.write("IP addresses distribution:\n")
    for peer in sorted(stats.peers):
        out.write(f"{peer}: {stats.peers[peer]}\n")
    for code in sorted(stats.codes):
        count = stats.codes[code]
        out.write(f"Code {code} : {count} ({100 * count / total:.1f} %)\n")
    out.write(stats.header_sizes.line("Response Header Sizes") + "\n")
    out.write(stats.body_sizes.line("Response Body/Total Sizes") + "\n")
    out.write(
        f"All done {total} calls (plus 0 warmup) {stats.series.avg * 1000:.3f} ms avg, "
        f"{qps:.1f} qps\n"
    )
    out.flush()
