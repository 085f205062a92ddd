"""Timing helper shared by the benchmarks: the best of several runs, in seconds."""

from __future__ import annotations

import time


def best_time(function, repeat: int = 3):
    """Run `function` `repeat` times; return (best wall time in seconds, result of the last run)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def table(rows, header):
    """Print rows of strings as an aligned table."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
