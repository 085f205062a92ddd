"""Grade a class: ``python -m latent_course grade SUBMISSIONS --out grades.csv``.

`SUBMISSIONS` holds one folder (or one notebook file) per student. Each notebook is matched to its topic by its
file name, or else by its cells (the cells it shares with each topic's exercise notebook), and graded by the
topic's self-checks: the notebook runs in a contained process of its own, the checks in the grader's processes
(:mod:`latent_course.tools.remote`, :mod:`latent_course.tools.sandbox`), with a wall-clock and a memory limit,
notebooks in parallel over the cores. The CSV has one row per student and task (plus one row per file that was
not graded, saying why); the printed table says how many students passed each task. The grader only reads
`SUBMISSIONS`.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import secrets
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..checks import _framework
from ..checks._summary import check_task
from ..notebook import read_cells
from ..progress import MEMORY_LIMIT_MB, STATUSES, TASK_TIME_LIMIT, Result, check_limits
from ..topics import imports, tasks, topics
from .remote import grade_cells
from .solutions import NOTEBOOKS

__all__ = ["COLUMNS", "Row", "find_notebooks", "match_topic", "grade", "write_csv", "pass_rates", "main"]

COLUMNS = ("student", "topic", "task", "status", "detail", "file")
IGNORED = "ignored"
"""The status of a file-level row: a file that was not graded (duplicate, unknown topic, not a notebook)."""


@dataclass(frozen=True)
class Row:
    """One row of the CSV: a student's task, or (``task == ""``) a file that was not graded."""

    student: str
    topic: str
    task: str
    status: str
    detail: str
    file: str


def _visible(path: Path) -> bool:
    return not any(part.startswith(".") for part in path.parts)


def find_notebooks(submissions: Path) -> dict[str, list[Path]]:
    """For each student (a folder's or a file's name), the files they handed in, relative to `submissions`.

    A ``.py`` file beside an ``.ipynb`` of the same name is the notebook's Jupytext twin and is left out;
    hidden files and folders (``.ipynb_checkpoints``) are skipped.
    """
    submissions = Path(submissions)
    students: dict[str, list[Path]] = {}
    for entry in sorted(submissions.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            files = sorted(path.relative_to(submissions) for path in entry.rglob("*")
                           if path.is_file() and _visible(path.relative_to(submissions)))
            students.setdefault(entry.name, []).extend(
                path for path in files if not (path.suffix == ".py" and path.with_suffix(".ipynb") in files))
        else:
            students.setdefault(entry.stem, []).append(entry.relative_to(submissions))
    return students


def _exercise_cells() -> dict[str, set[str]]:
    return {topic: {source.strip() for _, source in read_cells(NOTEBOOKS / f"{topic}.ipynb") if source.strip()}
            for topic in topics()}


def match_topic(path: Path, cells: list[tuple[str, str]] | None, exercises: dict[str, set[str]]) -> str | None:
    """The topic of the notebook at `path`: the topic named in the file name, or else the topic whose exercise
    shares the most cells with `cells` (at least two); ``None`` if neither tells."""
    named = [topic for topic in exercises if topic in path.name]
    if len(named) == 1:
        return named[0]
    if cells is None:
        return None
    sources = {source.strip() for _, source in cells if source.strip()}
    shared = {topic: len(sources & exercise) for topic, exercise in exercises.items()}
    best = max(shared, key=shared.get, default=None)
    if best is None or shared[best] < 2 or list(shared.values()).count(shared[best]) > 1:
        return None
    return best


def _preference(path: Path, topic: str) -> tuple:
    # The notebook to grade among several for one topic: the one named exactly like the topic, an .ipynb, then
    # the shortest name ("03_mixture_moments-Copy1.ipynb" loses).
    return (path.stem != topic, path.suffix != ".ipynb", len(path.name), str(path))


def _plan(submissions: Path) -> tuple[list[Row], list[tuple[str, str, Path, list | None, str]]]:
    """The file-level rows, and the notebooks to grade as (student, topic, file, cells, problem)."""
    exercises = _exercise_cells()
    rows, jobs = [], []
    for student, files in find_notebooks(submissions).items():
        if not files:
            rows.append(Row(student, "", "", IGNORED, "the folder holds no file", student + "/"))
        chosen: dict[str, list[tuple[Path, list | None, str]]] = {}
        for file in files:
            if file.suffix not in (".ipynb", ".py"):
                rows.append(Row(student, "", "", IGNORED, f"not a notebook ({file.suffix or 'no suffix'})",
                                file.as_posix()))
                continue
            try:
                cells, problem = read_cells(submissions / file), ""
            except (ValueError, OSError) as error:
                cells, problem = None, str(error).splitlines()[0]
            topic = match_topic(file, cells, exercises)
            if topic is None:
                rows.append(Row(student, "", "", IGNORED, problem or "cannot tell which topic this notebook is "
                                "(its name names none, and its cells match no exercise)", file.as_posix()))
                continue
            if file.suffix == ".py" and not problem:
                problem = "graded from a .py file (no .ipynb handed in)"
            chosen.setdefault(topic, []).append((file, cells, problem))
        for topic, candidates in chosen.items():
            candidates.sort(key=lambda candidate: _preference(candidate[0], topic))
            file, cells, problem = candidates[0]
            jobs.append((student, topic, file, cells, problem))
            rows.extend(Row(student, topic, "", IGNORED, f"duplicate: {file.as_posix()} was graded for this topic",
                            other.as_posix()) for other, _, _ in candidates[1:])
    return rows, jobs


def _grader_context():
    """Processes that grade one notebook each: they import the checks before any submission runs."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["latent_course.checks", "latent_course.tools.remote"])
    return context


def _grade_notebook(job) -> tuple[list[Result], str]:
    """One notebook's results, in a process of the grader (the submission runs in a contained child of it)."""
    topic, cells, files, problem, time_limit, memory_limit_mb, seed = job
    _framework.GRADING_SEED = seed
    if cells is None:
        return [Result(topic, task, "error", problem) for task in tasks(topic)], ""
    results, containment = grade_cells(topic, cells, files, tasks=list(tasks(topic)), time_limit=time_limit,
                                       memory_limit_mb=memory_limit_mb, imports=imports(topic),
                                       check_task=check_task)
    return [Result(topic, result.task, result.status, result.detail or problem) for result in results], containment


def grade(submissions: Path, *, jobs: int | None = None, time_limit: float = TASK_TIME_LIMIT,
          memory_limit_mb: int = MEMORY_LIMIT_MB, seed: int | None = None) -> list[Row]:
    """Grade every notebook in `submissions`; one :class:`Row` per student and task of the topics handed in.

    A student who handed in nothing for a topic that others handed in gets "not started" rows for it. Rows of
    files that were not graded (``status == "ignored"``) come first for each student. `seed` chooses the hidden
    cases (see ``checks._framework.GRADING_SEED``); None grades with the cases the notebooks' checks show.
    """
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise FileNotFoundError(f"submissions: no folder {submissions}")
    file_rows, planned = _plan(submissions)
    graded_topics = [topic for topic in topics() if any(job[1] == topic for job in planned)]
    notebooks = {}  # the notebooks of each student, which a topic's notebook may load (load_topic)
    for student, topic, file, cells, _ in planned:
        if cells is not None:
            notebooks.setdefault(student, {})[f"{topic}{file.suffix}"] = submissions / file
    graded_jobs = [(topic, cells, notebooks.get(student, {}), problem, time_limit, memory_limit_mb, seed)
                   for student, topic, _, cells, problem in planned]
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count(), mp_context=_grader_context()) as pool:
        outcomes = list(pool.map(_grade_notebook, graded_jobs))
    graded = {(job[0], job[1]): results for job, (results, _) in zip(planned, outcomes, strict=True)}
    containment = next((how for _, how in outcomes if how), "")
    if containment:
        print(f"submissions {containment}", file=sys.stderr)
    files = {(job[0], job[1]): job[2].as_posix() for job in planned}
    rows = []
    for student in find_notebooks(submissions):
        rows.extend(row for row in file_rows if row.student == student)
        for topic in graded_topics:
            results = graded.get((student, topic))
            if results is None:
                rows.extend(Row(student, topic, task, "not started", "no notebook handed in", "")
                            for task in tasks(topic))
            else:
                rows.extend(Row(student, topic, result.task, result.status, result.detail, files[student, topic])
                            for result in results)
    return rows


def write_csv(rows: list[Row], path: Path) -> None:
    """Write `rows` to the CSV file `path`, with a header row of ``COLUMNS``."""
    with Path(path).open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        writer.writerows((row.student, row.topic, row.task, row.status, row.detail, row.file) for row in rows)


def pass_rates(rows: list[Row]) -> str:
    """A table with one line per task: how many students passed it, and how many ended in each other status."""
    counts: dict[tuple[str, str], Counter] = {}
    for row in rows:
        if row.task:
            counts.setdefault((row.topic, row.task), Counter())[row.status] += 1
    if not counts:
        return "no task was graded"
    topic_width = max(len("Topic"), *(len(topic) for topic, _ in counts))
    task_width = max(len("Task"), *(len(task) for _, task in counts))
    header = f"{'Topic':<{topic_width}}  {'Task':<{task_width}}  {'passed':>13}" + "".join(
        f"  {status:>11}" for status in STATUSES[1:])
    lines, previous = [header], None
    for (topic, task), counter in counts.items():
        students = sum(counter.values())
        rate = f"{counter['passed']}/{students} {counter['passed'] / students:4.0%}"
        shown_topic = topic if topic != previous else ""
        previous = topic
        lines.append(f"{shown_topic:<{topic_width}}  {task:<{task_width}}  {rate:>13}" + "".join(
            f"  {counter[status]:>11}" for status in STATUSES[1:]))
    return "\n".join(lines)


def main(submissions: Path, out: Path, *, jobs: int | None = None, time_limit: float = TASK_TIME_LIMIT,
         memory_limit_mb: int = MEMORY_LIMIT_MB, seed: int | None = None) -> int:
    """Grade `submissions` with hidden cases (`seed`, or a new one that is printed), write the CSV `out` and print
    the pass-rate table; return the exit status."""
    submissions, out = Path(submissions), Path(out)
    if not submissions.is_dir():
        print(f"error: submissions: no folder {submissions}", file=sys.stderr)
        return 2
    try:
        check_limits(time_limit, memory_limit_mb)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if out.resolve().is_relative_to(submissions.resolve()):
        print(f"error: --out {out} lies inside {submissions}; the grader never writes into the submissions",
              file=sys.stderr)
        return 2
    if seed is None:
        seed = secrets.randbelow(2**31)
    print(f"hidden cases from seed {seed} (grade --seed {seed} grades with the same cases again)")
    rows = grade(submissions, jobs=jobs, time_limit=time_limit, memory_limit_mb=memory_limit_mb, seed=seed)
    write_csv(rows, out)
    students = len({row.student for row in rows})
    ignored = sum(row.status == IGNORED for row in rows)
    print(pass_rates(rows))
    print(f"{students} students; {ignored} files not graded (see the rows with status '{IGNORED}'); wrote {out}")
    return 0
