"""Helpers shared by the benchmarks: p50/p95, a ratio table and a free loopback port."""

from __future__ import annotations

import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Timing:
    name: str
    samples_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(name: str, fn: Callable[[], object], repeat: int = 20, warmup: int = 2) -> Timing:
    """Run ``fn`` ``warmup`` times unmeasured, then ``repeat`` times measured."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000.0)
    return Timing(name, samples)


def report(rows: list[tuple[str, Timing, Timing | None]]) -> str:
    """A table of (label, ours, baseline) with p50/p95 and the p50 ratio."""
    lines = [
        f"{'case':48s} {'p50 ms':>9s} {'p95 ms':>9s} {'base p50':>9s} {'base p95':>9s} {'ratio':>7s}"
    ]
    for label, ours, base in rows:
        if base is None:
            lines.append(
                f"{label:48s} {ours.p50:9.2f} {ours.p95:9.2f} {'-':>9s} {'-':>9s} {'-':>7s}"
            )
        else:
            ratio = base.p50 / ours.p50 if ours.p50 else float("inf")
            lines.append(
                f"{label:48s} {ours.p50:9.2f} {ours.p95:9.2f} {base.p50:9.2f} {base.p95:9.2f} {ratio:6.1f}x"
            )
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
