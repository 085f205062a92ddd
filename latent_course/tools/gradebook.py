"""What grading writes for a gradebook: points, totals, feedback for each student and written answers to mark.

Beside the long CSV ``grades.csv`` (one row per student and task, :mod:`latent_course.tools.grading`), the grader
writes, from the same rows:

* ``grades-totals.csv``: one row per student with each task's points, each written answer's points, the total and
  the maximum, for upload to a gradebook;
* ``grades-feedback/<student>.md``: what each student gets back: each task, its points and the check's message;
* ``grades-review/<topic>--<question>.csv``: every student's answer to a question answered in words, side by side,
  with a ``points`` and a ``comment`` column for the instructor. The next run reads them back into the totals and
  the feedback, and never overwrites what was entered (an answer changed since is flagged).

Points come from an instructor's file (``grade --points grading.toml``)::

    [points.03_mixture_moments]
    mixture_mean = 2
    mixture_covariance = 3

    [points.05_image_clustering]
    "Task 5: what does the sampled image show?" = 2

A task or question not listed is worth 1 point. Every file is written atomically: a failure leaves the previous
version (or none), never half of one.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..topics import tasks, title, topics, written

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = ["Answer", "Marks", "read_points", "answer_in", "spreadsheet_safe", "write_atomically", "write_table",
           "outputs", "review_path", "merge_review", "read_review", "totals_rows", "feedback", "write_gradebook"]

REVIEW_COLUMNS = ("student", "answer", "points", "comment", "answer changed since marked")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
STUB = "your answer here"


@dataclass(frozen=True)
class Answer:
    """A student's answer to a question answered in words ("" when they wrote none)."""

    student: str
    topic: str
    question: str
    text: str


@dataclass(frozen=True)
class Marks:
    """What an instructor entered for one answer in a review file: points (None: not marked yet) and a comment."""

    points: float | None
    comment: str
    answer: str


def spreadsheet_safe(text: str) -> str:
    """`text` as a spreadsheet shows it: a leading ``=``, ``+``, ``-``, ``@``, tab or return quoted with ``'``,
    so that a student id such as ``=HYPERLINK(...)`` stays text instead of becoming a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder and a rename."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_table(path: Path, header: Iterable[str], rows: Iterable[Iterable]) -> None:
    """Write a CSV file atomically: `header`, then `rows`, every text cell :func:`spreadsheet_safe`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(str(cell)) if isinstance(cell, str) else cell for cell in row] for row in rows)
    write_atomically(path, buffer.getvalue())


def read_points(path: Path | None) -> dict[tuple[str, str], float]:
    """The points of each (topic, task or question) from the instructor's TOML file; {} for None.

    Raises
    ------
    ValueError
        If the file is not valid TOML, names a topic, task or question the course does not have, or gives a
        points value that is not a finite number >= 0; the message names the entry.
    """
    if path is None:
        return {}
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None
    table = document.get("points", {})
    unknown_keys = sorted(set(document) - {"points"})
    if unknown_keys or not isinstance(table, dict):
        raise ValueError(f"{path}: expected only a [points] table, found {', '.join(unknown_keys) or 'points'}")
    points = {}
    for topic, entries in table.items():
        if topic not in topics():
            raise ValueError(f"{path}: [points.{topic}]: no such topic (topics: {', '.join(topics())})")
        if not isinstance(entries, dict):
            raise ValueError(f"{path}: [points.{topic}] should be a table of task = points")
        names = [*tasks(topic), *(question["question"] for question in written(topic))]
        for name, value in entries.items():
            if name not in names:
                raise ValueError(f"{path}: [points.{topic}] {name!r}: no such task or question (there are: "
                                 f"{', '.join(names)})")
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{path}: [points.{topic}] {name} = {value!r}: points must be a number >= 0")
            points[topic, name] = float(value)
    return points


def answer_in(cells: list[tuple[str, str]], question: dict[str, str]) -> str:
    """The student's answer to `question` in a notebook's `cells`: what follows the question's prompt in its
    Markdown cell, and the Markdown cells after it up to the next heading or code cell; "" if none."""
    heading = question["question"]
    for index, (cell_type, source) in enumerate(cells):
        lines = source.strip().splitlines()
        if cell_type != "markdown" or not lines or lines[0].lstrip("#").strip() != heading:
            continue
        text = source.strip()
        text = text.removeprefix(question["prompt"]) if text.startswith(question["prompt"]) else "\n".join(lines[1:])
        parts = [text.strip()]
        for next_type, next_source in cells[index + 1:]:
            if next_type != "markdown" or next_source.lstrip().startswith("#"):
                break
            parts.append(next_source.strip())
        return "\n\n".join(part for part in parts if part.strip("*_ ").lower().rstrip(".") not in ("", STUB))
    return ""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "question"


def outputs(out: Path) -> dict[str, Path]:
    """Where the files beside the long CSV `out` go: the totals, the feedback folder and the review folder."""
    out = Path(out)
    return {"totals": out.with_name(f"{out.stem}-totals.csv"), "feedback": out.with_name(f"{out.stem}-feedback"),
            "review": out.with_name(f"{out.stem}-review")}


def review_path(folder: Path, topic: str, question: str) -> Path:
    return Path(folder) / f"{topic}--{_slug(question)}.csv"


def read_review(path: Path) -> dict[str, Marks]:
    """The marks entered in a review file, by student; {} if there is no file.

    Raises
    ------
    ValueError
        If a points cell holds something other than a number >= 0 (the message names the file and the row).
    """
    path = Path(path)
    if not path.is_file():
        return {}
    marks = {}
    with path.open(encoding="utf-8-sig", newline="") as file:
        for number, row in enumerate(csv.DictReader(file), start=2):
            student = (row.get("student") or "").removeprefix("'")
            entered = (row.get("points") or "").strip()
            try:
                points = None if entered == "" else float(entered)
            except ValueError:
                points = -1.0
            if points is not None and (not math.isfinite(points) or points < 0):
                raise ValueError(f"{path}, row {number} ({student}): points should be a number >= 0, got {entered!r}")
            marks[student] = Marks(points, row.get("comment") or "", row.get("answer") or "")
    return marks


def merge_review(path: Path, answers: list[Answer]) -> dict[str, Marks]:
    """Write the review file of one question for `answers`, keeping every mark and comment already entered; return
    the marks by student. An answer that changed since it was marked keeps its mark and is flagged."""
    previous = read_review(path)
    rows, marks = [], {}
    for answer in answers:
        old = previous.get(answer.student, Marks(None, "", spreadsheet_safe(answer.text)))
        changed = old.points is not None and old.answer != spreadsheet_safe(answer.text)
        rows.append((answer.student, answer.text, "" if old.points is None else f"{old.points:g}", old.comment,
                     "yes" if changed else ""))
        marks[answer.student] = old
    kept = [(student, mark.answer, f"{mark.points:g}" if mark.points is not None else "", mark.comment, "")
            for student, mark in previous.items() if student not in marks]  # a student no longer handed in: kept
    write_table(path, REVIEW_COLUMNS, rows + kept)
    return marks


def _columns(rows, answers: list[Answer]) -> list[tuple[str, str]]:
    graded = [topic for topic in topics() if any(row.topic == topic and row.task for row in rows)]
    columns = []
    for topic in graded:
        columns += [(topic, task) for task in tasks(topic)]
        columns += [(topic, question["question"]) for question in written(topic)
                    if any(answer.topic == topic for answer in answers)]
    return columns


def totals_rows(rows, answers: list[Answer], marks: dict[tuple[str, str, str], Marks],
                points: dict[tuple[str, str], float]) -> tuple[list[str], list[list]]:
    """The wide table: a header and one row per student (id, points of each task and question, total, maximum)."""
    columns = _columns(rows, answers)
    status = {(row.student, row.topic, row.task): row.status for row in rows if row.task}
    handed_in = {(answer.student, answer.topic, answer.question) for answer in answers}
    students = list(dict.fromkeys(row.student for row in rows))
    header = ["student", *(f"{topic}:{name}" for topic, name in columns), "total", "maximum"]
    table = []
    for student in students:
        earned = []
        for topic, name in columns:
            worth = points.get((topic, name), 1.0)
            if (student, topic, name) in status:
                earned.append(worth if status[student, topic, name] == "passed" else 0.0)
            elif (student, topic, name) not in handed_in:
                earned.append(0.0)
            else:  # a written answer: its mark, or empty until it is marked
                mark = marks.get((student, topic, name))
                earned.append(min(mark.points, worth) if mark and mark.points is not None else "")
        maximum = sum(points.get(column, 1.0) for column in columns)
        total = sum(value for value in earned if value != "")
        table.append([student, *(f"{value:g}" if value != "" else "" for value in earned), f"{total:g}",
                      f"{maximum:g}"])
    return header, table


def feedback(student: str, rows, answers: list[Answer], marks: dict[tuple[str, str, str], Marks],
             points: dict[tuple[str, str], float]) -> str:
    """The Markdown a student gets back: per topic, each task's points and the check's message, each written
    answer's points and comment, and the total."""
    own = [row for row in rows if row.student == student]
    lines = [f"# Feedback for {student}", ""]
    total = maximum = 0.0
    for topic in dict.fromkeys(row.topic for row in own if row.topic):
        lines += [f"## {title(topic)}", ""]
        for row in (row for row in own if row.topic == topic and row.task):
            worth = points.get((topic, row.task), 1.0)
            got = worth if row.status == "passed" else 0.0
            total, maximum = total + got, maximum + worth
            reason = f": {row.detail}" if row.detail else ""
            lines.append(f"- **{row.task}**: {got:g} of {worth:g} points ({row.status}{reason})")
        handed_in = {answer.question for answer in answers if answer.student == student and answer.topic == topic}
        for question in (question["question"] for question in written(topic)):
            worth = points.get((topic, question), 1.0)
            mark = marks.get((student, topic, question))
            maximum += worth
            if question not in handed_in:
                lines.append(f"- **{question}** (written): 0 of {worth:g} points (no notebook handed in)")
            elif mark is None or mark.points is None:
                lines.append(f"- **{question}** (written): not marked yet, of {worth:g} points")
            else:
                got = min(mark.points, worth)
                total += got
                comment = f": {mark.comment}" if mark.comment else ""
                lines.append(f"- **{question}** (written): {got:g} of {worth:g} points{comment}")
        ignored = [row for row in own if row.topic == topic and not row.task]
        lines += [f"- not graded: {row.file} ({row.detail})" for row in ignored]
        lines.append("")
    lines += [f"**Total: {total:g} of {maximum:g} points.**", ""]
    return "\n".join(lines)


def write_gradebook(rows, answers: list[Answer], out: Path, points: dict[tuple[str, str], float]) -> dict[str, Path]:
    """Write the totals, the feedback files and the review files beside `out`; return where they are."""
    places = outputs(out)
    places["feedback"].mkdir(exist_ok=True)
    places["review"].mkdir(exist_ok=True)
    marks = {}
    by_question: dict[tuple[str, str], list[Answer]] = {}
    for answer in answers:
        by_question.setdefault((answer.topic, answer.question), []).append(answer)
    for (topic, question), group in by_question.items():
        for student, mark in merge_review(review_path(places["review"], topic, question), group).items():
            marks[student, topic, question] = mark
    header, table = totals_rows(rows, answers, marks, points)
    write_table(places["totals"], header, table)
    for student in dict.fromkeys(row.student for row in rows):
        name = re.sub(r"[^\w.-]+", "_", student).lstrip(".") or "student"
        write_atomically(places["feedback"] / f"{name}.md", feedback(student, rows, answers, marks, points))
    return places
