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

import multiprocessing
import os
import re
import secrets
import sys
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ..checks import _framework
from ..checks._summary import check_task
from ..progress import MEMORY_LIMIT_MB, STATUSES, TASK_TIME_LIMIT, Result, check_limits
from ..topics import imports, tasks, topics, written
from .gradebook import (
    Answer,
    answer_in,
    outputs,
    read_points,
    read_review,
    write_gradebook,
    write_table,
)
from .remote import grade_cells
from .submissions import IGNORED, Row, SubmissionError, find_notebooks, match_topic, plan, unpacked

__all__ = ["COLUMNS", "IGNORED", "Row", "find_notebooks", "match_topic", "grade", "write_csv", "pass_rates",
           "check_options", "main"]

COLUMNS = ("student", "topic", "task", "status", "detail", "file")


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
    # What any topic's notebook imports: one spawner per grader process serves every topic.
    results, containment = grade_cells(topic, cells, files, tasks=list(tasks(topic)), time_limit=time_limit,
                                       memory_limit_mb=memory_limit_mb, imports=imports(), check_task=check_task)
    return [Result(topic, result.task, result.status, result.detail or problem) for result in results], containment


def grade(submissions: Path, *, jobs: int | None = None, time_limit: float = TASK_TIME_LIMIT,
          memory_limit_mb: int = MEMORY_LIMIT_MB, seed: int | None = None,
          id_pattern: re.Pattern | None = None) -> tuple[list[Row], list[Answer]]:
    """Grade every notebook in the folder `submissions`: one :class:`Row` per student and task of the topics handed
    in, and each student's written answers.

    A student who handed in nothing for a topic that others handed in gets "not started" rows for it. Rows of
    files that were not graded (``status == "ignored"``) come first for each student. `seed` chooses the hidden
    cases (see ``checks._framework.GRADING_SEED``); None grades with the cases the notebooks' checks show.
    `id_pattern` reads student ids from file names (:func:`latent_course.tools.submissions.student_id`).
    """
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise FileNotFoundError(f"submissions: no folder {submissions}")
    file_rows, planned, students = plan(submissions, id_pattern)
    graded_topics = [topic for topic in topics() if any(job.topic == topic for job in planned)]
    notebooks = {}  # the notebooks of each student, which a topic's notebook may load (load_topic)
    for job in planned:
        if job.cells is not None:
            notebooks.setdefault(job.student, {})[f"{job.topic}{job.file.suffix}"] = submissions / job.file
    graded_jobs = [(job.topic, job.cells, notebooks.get(job.student, {}), job.problem, time_limit, memory_limit_mb,
                    seed) for job in planned]
    with ProcessPoolExecutor(max_workers=jobs or os.cpu_count(), mp_context=_grader_context()) as pool:
        outcomes = list(pool.map(_grade_notebook, graded_jobs))
    graded = {(job.student, job.topic): (job, results) for job, (results, _) in zip(planned, outcomes, strict=True)}
    containment = next((how for _, how in outcomes if how), "")
    if containment:
        print(f"submissions {containment}", file=sys.stderr)
    rows, answers = [], []
    for student in students:
        rows.extend(row for row in file_rows if row.student == student)
        for topic in graded_topics:
            job, results = graded.get((student, topic), (None, None))
            if results is None:
                rows.extend(Row(student, topic, task, "not started", "no notebook handed in", "")
                            for task in tasks(topic))
                continue
            rows.extend(Row(student, topic, result.task, result.status, result.detail, job.file.as_posix())
                        for result in results)
            answers.extend(Answer(student, topic, question["question"], answer_in(job.cells or [], question))
                           for question in written(topic))
    return rows, answers


def write_csv(rows: list[Row], path: Path) -> None:
    """Write `rows` to the CSV file `path` (atomically), with a header row of ``COLUMNS``."""
    write_table(path, COLUMNS, ((row.student, row.topic, row.task, row.status, row.detail, row.file) for row in rows))


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


def check_options(submissions: Path, out: Path, *, jobs: int | None, time_limit: float, memory_limit_mb: int,
                  id_pattern: str | None = None) -> re.Pattern | None:
    """Raise ValueError, saying what to change, unless every option can be used; return the compiled pattern.

    Checked before any grading, so that a bad option loses no work: the submissions exist, the limits and `jobs`
    are positive (finite) numbers, and `out` and the files beside it can be written and lie outside the
    submissions.
    """
    if not submissions.exists():
        raise ValueError(f"submissions: no folder or zip archive {submissions}")
    check_limits(time_limit, memory_limit_mb)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"--jobs should be a whole number >= 1, got {jobs!r}")
    places = [out, *outputs(out).values()]
    if any(place.resolve().is_relative_to(submissions.resolve()) for place in places):
        raise ValueError(f"--out {out} lies inside {submissions}; the grader never writes into the submissions")
    if out.is_symlink() or out.is_dir():
        raise ValueError(f"--out {out} is a {'link' if out.is_symlink() else 'folder'}; give the path of a CSV file")
    if not out.parent.is_dir():
        raise ValueError(f"--out {out}: no folder {out.parent} to write it in")
    for place in places[1:]:
        if place.is_symlink() or (place.exists() and place.is_dir() != (place.suffix == "")):
            raise ValueError(f"{place} is in the way of what the grader writes beside --out; move it")
    try:
        tempfile.TemporaryFile(dir=out.parent).close()
    except OSError as error:
        raise ValueError(f"--out {out}: cannot write in {out.parent} ({error.strerror})") from None
    try:
        return re.compile(id_pattern) if id_pattern is not None else None
    except re.error as error:
        raise ValueError(f"--id-pattern {id_pattern!r}: {error}") from None


def main(submissions: Path, out: Path, *, jobs: int | None = None, time_limit: float = TASK_TIME_LIMIT,
         memory_limit_mb: int = MEMORY_LIMIT_MB, seed: int | None = None, points: Path | None = None,
         id_pattern: str | None = None) -> int:
    """Grade `submissions` (a folder or a zip archive) with hidden cases (`seed`, or a new one that is printed),
    write the long CSV `out`, the totals, feedback and review files beside it (:mod:`.gradebook`), and print the
    pass-rate table; return the exit status (2 for a bad option, before any grading)."""
    submissions, out = Path(submissions), Path(out)
    try:
        pattern = check_options(submissions, out, jobs=jobs, time_limit=time_limit, memory_limit_mb=memory_limit_mb,
                                id_pattern=id_pattern)
        if pattern is not None and "student" not in pattern.groupindex:
            raise ValueError(f"--id-pattern {id_pattern!r} needs a named group (?P<student>...)")
        weights = read_points(points)
        for review in sorted(outputs(out)["review"].glob("*.csv")):  # the marks entered so far must read back
            read_review(review)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if seed is None:
        seed = secrets.randbelow(2**31)
    print(f"hidden cases from seed {seed} (grade --seed {seed} grades with the same cases again)")
    try:
        with unpacked(submissions, pattern) as folder:
            rows, answers = grade(folder, jobs=jobs, time_limit=time_limit, memory_limit_mb=memory_limit_mb,
                                  seed=seed, id_pattern=pattern)
    except SubmissionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        write_csv(rows, out)
        places = write_gradebook(rows, answers, out, weights)
    except (OSError, ValueError) as error:
        print(f"error: writing the results failed ({error}); nothing half-written was left", file=sys.stderr)
        return 1
    students = len({row.student for row in rows})
    ignored = sum(row.status == IGNORED for row in rows)
    print(pass_rates(rows))
    print(f"{students} students; {ignored} files not graded (see the rows with status '{IGNORED}'); wrote {out}, "
          f"{places['totals']}, feedback in {places['feedback']}/" + (
              f", written answers to mark in {places['review']}/" if answers else ""))
    return 0
