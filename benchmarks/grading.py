"""Grade a generated class: ``python benchmarks/grading.py [STUDENTS] [--jobs N]`` prints the time per notebook.

Each student hands in one notebook, by turns: a solved notebook of topics 01, 02, 03 or 05, an untouched exercise
(03 or 05), topic 03 half done, wrong, with an endless loop, or ending its process. Every notebook runs in its own
contained process (:mod:`latent_course.tools.remote`); the printed table gives each kind's count and the total.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _timing import table

from latent_course.notebook import read_cells
from latent_course.tools.grading import grade
from latent_course.tools.solutions import NOTEBOOKS, SOLUTIONS

TOPIC = "03_mixture_moments"


def _notebook(cells) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "metadata": {}, "source": source,
         **({"outputs": [], "execution_count": None} if kind == "code" else {})} for kind, source in cells]})


def _exercise_03(mean: str, covariance: str = "raise NotImplementedError") -> str:
    cells = []
    for kind, source in read_cells(NOTEBOOKS / f"{TOPIC}.ipynb"):
        for name, body in (("mixture_mean", mean), ("mixture_covariance", covariance)):
            if source.startswith(f"def {name}("):
                lines = source.splitlines()
                todo = next(i for i, line in enumerate(lines) if line.strip().startswith("# TODO"))
                source = "\n".join([*lines[:todo], "    " + body, *lines[todo + 2:]])
        cells.append((kind, source))
    return _notebook(cells)


KINDS = {
    "solved 01": ("01_matrix_factorization", SOLUTIONS / "01_matrix_factorization.ipynb"),
    "solved 02": ("02_linear_autoencoder", SOLUTIONS / "02_linear_autoencoder.ipynb"),
    "solved 03": (TOPIC, SOLUTIONS / f"{TOPIC}.ipynb"),
    "solved 05": ("05_image_clustering", SOLUTIONS / "05_image_clustering.ipynb"),
    "blank 03": (TOPIC, NOTEBOOKS / f"{TOPIC}.ipynb"),
    "blank 05": ("05_image_clustering", NOTEBOOKS / "05_image_clustering.ipynb"),
    "half done 03": (TOPIC, _exercise_03("return pi @ mu")),
    "wrong 03": (TOPIC, _exercise_03("return mu.mean(axis=0)", "return sigma.sum(axis=0)")),
    "endless loop 03": (TOPIC, _exercise_03("while True:\n        pass")),
    "os._exit 03": (TOPIC, _exercise_03("import os\n    os._exit(1)")),
}


def make_class(folder: Path, students: int) -> Counter:
    kinds = Counter()
    names = list(KINDS)
    for number in range(students):
        kind = names[number % len(names)]
        topic, source = KINDS[kind]
        (folder / f"student{number:03d}").mkdir(parents=True)
        target = folder / f"student{number:03d}" / f"{topic}.ipynb"
        if isinstance(source, Path):
            shutil.copyfile(source, target)
        else:
            target.write_text(source)
        kinds[kind] += 1
    return kinds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("students", type=int, nargs="?", default=200)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per task (the loops wait this long)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        kinds = make_class(Path(folder), options.students)
        start = time.perf_counter()
        rows, _ = grade(Path(folder), jobs=options.jobs, time_limit=options.time_limit)
        elapsed = time.perf_counter() - start
    statuses = Counter(row.status for row in rows)
    table([(kind, count) for kind, count in kinds.items()], ("kind of notebook", "students"))
    print(f"\n{options.students} notebooks graded in {elapsed:.0f} s: {elapsed / options.students:.2f} s per notebook "
          f"({options.jobs or 'one per core'} at a time); task statuses: {dict(statuses)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
