"""Timing helpers shared by the benchmarks: the best of several runs, and paired ratios of alternating runs."""

from __future__ import annotations

import time

import numpy as np


def best_time(function, repeat: int = 3):
    """Run `function` `repeat` times; return (best wall time in seconds, result of the last run)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def paired_ratio(ours, baseline, rounds: int = 15):
    """Time `ours` and `baseline` in alternating order, `rounds` times each; return the median of the paired ratios
    ours / baseline and the median time of each (seconds), robust to the load of a shared machine."""
    pairs = []
    for number in range(rounds):
        first, second = (ours, baseline) if number % 2 == 0 else (baseline, ours)
        start = time.perf_counter()
        first()
        middle = time.perf_counter()
        second()
        end = time.perf_counter()
        pairs.append((middle - start, end - middle) if first is ours else (end - middle, middle - start))
    ours_times, baseline_times = np.array(pairs).T
    return float(np.median(ours_times / baseline_times)), float(np.median(ours_times)), float(np.median(baseline_times))


def table(rows, header):
    """Print rows of strings as an aligned table."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
