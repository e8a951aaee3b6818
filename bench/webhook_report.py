"""The results of ``bench/webhook_fanout.py`` and their report."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

#: The key of ``busy`` that holds the CPU milliseconds of syndicate's own processes.
OURS_MS = "ours (ms of CPU)"


@dataclass
class Fanout:
    threads: int
    wall: float
    first: float
    #: From the submit to the article's ingest (its ``done_at``, taken before its commit).
    stored: float
    half: float
    p99: float
    peak: int
    timeline: str
    busy: dict[str, float]


@dataclass
class Sustained:
    threads: int
    deliveries: int
    wall: float
    ceiling: float
    timeline: str
    busy: dict[str, float]


@dataclass
class Holes:
    """The sustained run with black holes: ``deliveries`` to the healthy endpoints."""

    threads: int
    deliveries: int
    wall: float
    swallowed: int
    timeline: str
    busy: dict[str, float]


@dataclass
class Results:
    baseline: float
    body_bytes: int
    baseline_busy: dict[str, float] = field(default_factory=dict)
    fanouts: list[list[Fanout]] = field(default_factory=list)  # the runs of each --threads
    sustained: list[list[Sustained]] = field(default_factory=list)  # likewise
    holes: list[Holes] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def timeline(times: list[float], start: float, width: float) -> str:
    """Deliveries answered per ``width`` seconds since ``start``."""
    buckets = [0] * (int((max(times) - start) / width) + 1)
    for moment in times:
        buckets[int((moment - start) / width)] += 1
    return " ".join(map(str, buckets))


def report(options: argparse.Namespace, results: Results) -> None:
    n, baseline = options.endpoints, results.baseline
    cores = os.cpu_count()
    print(
        f"machine: {cores} cores; Redis and PostgreSQL: embedded, Unix sockets; receiver: "
        f"uvicorn on loopback answering 204 after {options.delay * 1000:.0f} ms; {n} "
        f"endpoints; payload {results.body_bytes} bytes; each figure the median of "
        f"{options.repeat} runs"
    )
    print()
    print("| measurement | I/O worker | wall time | rate | vs baseline | CPU per delivery "
          "| others' CPU |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|")
    print(
        f"| baseline: sequential `requests.Session`, {n} signed POSTs | – | {baseline:.2f} s "
        f"| {n / baseline:.1f} req/s | 1.0x | – | {_others(results.baseline_busy)} |"
    )
    for runs in results.fanouts:
        f = median(runs)
        print(
            f"| fan-out: 1 article → {n} endpoints | {_io(options, f.threads)} "
            f"| {f.wall:.2f} s{_spread([r.wall for r in runs])} | {n / f.wall:.0f} "
            f"deliveries/s | {baseline / f.wall:.1f}x | {_cpu(f.busy, n)} | {_others(f.busy)} |"
        )
    for steady in results.sustained:
        s = median(steady)
        print(
            f"| sustained: {options.articles} articles × {n} endpoints, delay 0 "
            f"| {_io(options, s.threads)} | {s.wall:.2f} s{_spread([r.wall for r in steady])} "
            f"| {s.deliveries / s.wall:.0f} deliveries/s | – | {_cpu(s.busy, s.deliveries)} "
            f"| {_others(s.busy)} |"
        )
    if results.holes:
        h = median(results.holes)
        print(
            f"| black holes: as sustained, the first {n - h.deliveries // options.articles} "
            f"endpoints never answer; the others' deliveries | {_io(options, h.threads)} "
            f"| {h.wall:.2f} s{_spread([r.wall for r in results.holes])} "
            f"| {h.deliveries / h.wall:.0f} deliveries/s | – | {_cpu(h.busy, h.deliveries)} "
            f"| {_others(h.busy)} |"
        )
    for steady in results.sustained:
        s = median(steady)
        if s.ceiling:
            print(
                f"| no-op ceiling: {options.pings} `syndicate.ping` on `deliver` "
                f"| {_io(options, s.threads)} | {options.pings / s.ceiling:.2f} s "
                f"| {s.ceiling:.0f} tasks/s | – | – | |"
            )
    print()
    _details(options, results)
    _verdicts(options, results)


def _details(options: argparse.Namespace, results: Results) -> None:
    cores = os.cpu_count()
    print("CPU per delivery: of syndicate's processes (workers, beat, Redis, PostgreSQL)")
    print("others' CPU: cores used by processes outside the bench during the measurement")
    for runs in results.fanouts:
        f = median(runs)
        print(
            f"fan-out -c {f.threads} (median run): first delivery answered "
            f"{f.first * 1000:.0f} ms after the submit and {(f.first - f.stored) * 1000:.0f} ms "
            f"after the article was stored (its ingest began {f.stored * 1000:.0f} ms after "
            f"the submit), half at {f.half:.2f} s, 99 % at "
            f"{f.p99:.2f} s, all at {f.wall:.2f} s; at most {f.peak} in flight at the "
            f"receiver; answered per 0.5 s: {f.timeline}"
        )
    for steady in results.sustained:
        s = median(steady)
        print(f"sustained -c {s.threads}: answered per 5 s: {s.timeline}")
    if results.holes:
        h = median(results.holes)
        print(f"black holes -c {h.threads}: {h.swallowed} requests swallowed; healthy "
              f"answered per 5 s: {h.timeline}")  # fmt: skip
    phases = [(f"fan-out -c {runs[0].threads}", median(runs).busy) for runs in results.fanouts]
    phases += [(f"sustained -c {s[0].threads}", median(s).busy) for s in results.sustained]
    phases += [("black holes", median(results.holes).busy)] if results.holes else []
    for label, busy in phases:
        shown = ", ".join(f"{name} {used:.2f}" for name, used in busy.items() if name != OURS_MS)
        total = sum(used for name, used in busy.items() if name != OURS_MS)
        print(f"cores busy, {label}: {shown}; total {total:.2f} of {cores}")
    for note in results.notes:
        print(note)
    print(
        "checks passed: receiver count == expected == the store's delivered count, distinct "
        "webhook-ids, every path, no failed attempt, sampled signatures verified"
    )


def _verdicts(options: argparse.Namespace, results: Results) -> None:
    n, baseline = options.endpoints, results.baseline
    fanout = median(results.fanouts[0])
    rate = n / fanout.wall
    _verdict(rate >= 1000 and baseline / fanout.wall >= 50,
             f"fan-out >= 1,000 deliveries/s and >= 50x the sequential loop: {rate:.0f}/s, "
             f"{baseline / fanout.wall:.1f}x at -c {fanout.threads}")  # fmt: skip
    steady = median(results.sustained[0])
    steady_rate = steady.deliveries / steady.wall
    _verdict(steady_rate >= 1000, f"sustained >= 1,000 deliveries/s: {steady_rate:.0f}/s")
    cpu = steady.busy[OURS_MS] / steady.deliveries
    _verdict(cpu <= 0.5, f"CPU per delivery <= 0.5 ms (sustained): {cpu:.2f} ms")
    after_stored = fanout.first - fanout.stored
    _verdict(
        after_stored <= 0.1,
        f"first delivery answered <= 100 ms after the article is stored: "
        f"{after_stored * 1000:.0f} ms ({fanout.first * 1000:.0f} ms after the submit)",
    )
    _verdict(fanout.p99 <= 1.5, f"p99 submit → delivered <= 1.5 s: {fanout.p99:.2f} s")
    if results.holes:
        holes = median(results.holes)
        share = (holes.deliveries / holes.wall) / steady_rate
        _verdict(share >= 0.9, f"with black holes, the healthy endpoints keep >= 90 % of "
                               f"the sustained rate: {share:.0%}")  # fmt: skip


def _verdict(met: bool, text: str) -> None:
    print(f"{'met' if met else 'MISSED'}: {text}")


def median(runs: list[T]) -> T:
    """The median run of runs sorted by wall time (the lower one of an even count)."""
    return runs[(len(runs) - 1) // 2]


def _spread(walls: list[float]) -> str:
    return f" ({walls[0]:.2f}–{walls[-1]:.2f})" if len(walls) > 1 else ""


def _cpu(busy: dict[str, float], deliveries: int) -> str:
    return f"{busy[OURS_MS] / deliveries:.2f} ms"


def _io(options: argparse.Namespace, threads: int) -> str:
    workers = f"{options.io_workers} × " if options.io_workers > 1 else ""
    return f"{workers}threads -c {threads}"


def _others(busy: dict[str, float]) -> str:
    return f"{busy.get('other processes', 0.0):.2f}"
