"""Grading a generated class of submissions: every awkward hand-in gets its exact status and grading goes on."""

import csv
import json
import shutil

import pytest

from latent_course.notebook import read_cells
from latent_course.tools.cli import main
from latent_course.tools.grading import COLUMNS, find_notebooks, grade, match_topic, pass_rates
from latent_course.tools.solutions import NOTEBOOKS, SOLUTIONS

TOPIC = "03_mixture_moments"
OTHER = "05_image_clustering"
RIGHT_COVARIANCE = ("d = mu - pi @ mu\n    return np.einsum('k,kij->ij', pi, sigma) "
                    "+ np.einsum('k,ki,kj->ij', pi, d, d)")


def notebook(cells) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": cell_type, "metadata": {}, "source": source,
         **({"outputs": [], "execution_count": None} if cell_type == "code" else {})}
        for cell_type, source in cells]})


def exercise(rename=None, delete=(), **bodies):
    """The exercise notebook of ``03_mixture_moments`` with some stubs filled in, a function renamed or deleted."""
    cells = []
    for cell_type, source in read_cells(NOTEBOOKS / f"{TOPIC}.ipynb"):
        name = source.split("(")[0].removeprefix("def ") if source.startswith("def ") else None
        if name in delete:
            continue
        if name in bodies:
            lines = source.splitlines()
            todo = next(i for i, line in enumerate(lines) if line.strip().startswith("# TODO"))
            source = "\n".join([*lines[:todo], "    " + bodies[name], *lines[todo + 2:]])
        if name and rename and name in rename:
            source = source.replace(f"def {name}(", f"def {rename[name]}(")
        cells.append((cell_type, source))
    return notebook(cells)


CLASS = {  # path inside SUBMISSIONS: content (str) or the course file to copy (Path)
    "alice/03_mixture_moments.ipynb": SOLUTIONS / f"{TOPIC}.ipynb",
    "alice/03_mixture_moments.py": SOLUTIONS / f"{TOPIC}.py",
    "bob/03_mixture_moments.ipynb": NOTEBOOKS / f"{TOPIC}.ipynb",
    "carol/03_mixture_moments.ipynb": exercise(mixture_mean="while True:\n        pass",
                                               mixture_covariance=RIGHT_COVARIANCE),
    "dave/03_mixture_moments.ipynb": exercise(mixture_mean="return np.ones(200_000_000)[:2]",  # 1.6 GB
                                              mixture_covariance="return sigma.sum(axis=0)"),
    "erin/03_mixture_moments.ipynb": exercise(mixture_mean="import sys\n    sys.exit(1)",
                                              mixture_covariance=RIGHT_COVARIANCE),
    "frank/03_mixture_moments.ipynb": exercise(mixture_mean="import ctypes\n    return ctypes.string_at(0)",
                                               mixture_covariance=RIGHT_COVARIANCE),
    "grace/03_mixture_moments.ipynb": NOTEBOOKS.joinpath(f"{TOPIC}.ipynb").read_text()[:500],
    "heidi.py": SOLUTIONS / f"{TOPIC}.py",
    "ivan/03_mixture_moments.ipynb": exercise(rename={"mixture_mean": "mean_of_mixture"},
                                              delete=("mixture_covariance",), mixture_mean="return pi @ mu"),
    "judy/03_mixture_moments.ipynb": SOLUTIONS / f"{TOPIC}.ipynb",
    "judy/03_mixture_moments-Copy1.ipynb": NOTEBOOKS / f"{TOPIC}.ipynb",
    # Topic 05's solved functions and checks without the rest (a whole solved notebook takes seconds more to run)
    "mallory.ipynb": notebook([(kind, source) for kind, source in read_cells(SOLUTIONS / f"{OTHER}.ipynb")
                               if source.startswith(("import", "from", "def ", "checks."))]),
    "oscar/03_mixture_moments.ipynb": exercise(mixture_mean="import os\n    os._exit(3)"),
    "oscar/notes.txt": "my notes",
    "peggy/untitled.ipynb": notebook([("code", "print('hello')")]),
}

EXPECTED = {  # (student, topic, task): status; the file-level rows have task ""
    ("alice", TOPIC, "mixture_mean"): "passed",
    ("alice", TOPIC, "mixture_covariance"): "passed",
    ("bob", TOPIC, "mixture_mean"): "not started",
    ("bob", TOPIC, "mixture_covariance"): "not started",
    ("carol", TOPIC, "mixture_mean"): "timed out",
    ("carol", TOPIC, "mixture_covariance"): "passed",
    ("dave", TOPIC, "mixture_mean"): "error",
    ("dave", TOPIC, "mixture_covariance"): "failed",
    ("erin", TOPIC, "mixture_mean"): "error",
    ("erin", TOPIC, "mixture_covariance"): "passed",
    ("frank", TOPIC, "mixture_mean"): "error",
    ("frank", TOPIC, "mixture_covariance"): "passed",
    ("grace", TOPIC, "mixture_mean"): "error",
    ("grace", TOPIC, "mixture_covariance"): "error",
    ("heidi", TOPIC, "mixture_mean"): "passed",
    ("heidi", TOPIC, "mixture_covariance"): "passed",
    ("ivan", TOPIC, "mixture_mean"): "error",
    ("ivan", TOPIC, "mixture_covariance"): "error",
    ("judy", TOPIC, ""): "ignored",
    ("judy", TOPIC, "mixture_mean"): "passed",
    ("judy", TOPIC, "mixture_covariance"): "passed",
    ("mallory", TOPIC, "mixture_mean"): "not started",
    ("mallory", TOPIC, "mixture_covariance"): "not started",
    ("oscar", "", ""): "ignored",
    ("oscar", TOPIC, "mixture_mean"): "error",
    ("oscar", TOPIC, "mixture_covariance"): "not started",
    ("peggy", "", ""): "ignored",
    ("peggy", TOPIC, "mixture_mean"): "not started",
    ("peggy", TOPIC, "mixture_covariance"): "not started",
}
for _student in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "oscar", "peggy"):
    for _task in ("kmeans", "gmm_log_probability", "em", "gmm_sample"):
        EXPECTED[_student, OTHER, _task] = "not started"
        EXPECTED["mallory", OTHER, _task] = "passed"

DETAILS = {  # (student, topic, task): a fragment of the detail
    ("carol", TOPIC, "mixture_mean"): "still running after 5 s",
    ("dave", TOPIC, "mixture_mean"): "MemoryError",
    ("dave", TOPIC, "mixture_covariance"): "mixture_covariance: ",
    ("erin", TOPIC, "mixture_mean"): "SystemExit: 1",
    ("frank", TOPIC, "mixture_mean"): "killed by SIGSEGV",
    ("grace", TOPIC, "mixture_mean"): "03_mixture_moments.ipynb is not a valid notebook (invalid JSON",
    ("heidi", TOPIC, "mixture_mean"): "graded from a .py file",
    ("ivan", TOPIC, "mixture_mean"): "defines no function mixture_mean (renamed or deleted?)",
    ("ivan", TOPIC, "mixture_covariance"): "defines no function mixture_covariance",
    ("judy", TOPIC, ""): "duplicate: judy/03_mixture_moments.ipynb was graded",
    ("mallory", TOPIC, "mixture_mean"): "no notebook handed in",
    ("oscar", "", ""): "not a notebook (.txt)",
    ("oscar", TOPIC, "mixture_mean"): "exited with code 3",
    ("peggy", "", ""): "cannot tell which topic",
}


def snapshot(folder):
    return {path.relative_to(folder): (path.read_bytes() if path.is_file() else None, path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    for name, content in CLASS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            shutil.copyfile(content, path)
    return folder


@pytest.fixture(scope="module")
def graded(submissions):
    before = snapshot(submissions)
    rows, _ = grade(submissions, time_limit=5, memory_limit_mb=1024)
    assert snapshot(submissions) == before, "the grader changed the submissions folder"
    return rows


def test_every_student_and_task_has_its_exact_status(graded):
    assert {(row.student, row.topic, row.task): row.status for row in graded} == EXPECTED
    assert len(graded) == len(EXPECTED)


@pytest.mark.parametrize("key, fragment", DETAILS.items(), ids=["/".join(filter(None, key)) for key in DETAILS])
def test_each_awkward_hand_in_gets_a_clear_reason(graded, key, fragment):
    detail = next(row.detail for row in graded if (row.student, row.topic, row.task) == key)
    assert fragment in detail and "\n" not in detail


def test_the_pass_rate_table_counts_students_per_task(graded):
    table = pass_rates(graded).splitlines()
    assert table[0].split() == ["Topic", "Task", "passed", "failed", "not", "started", "error", "timed", "out"]
    mean = next(line for line in table if "mixture_mean" in line).split()
    # passed: alice, heidi, judy; error: dave erin frank grace ivan oscar; timed out: carol; not started: the rest
    assert mean[1:] == ["mixture_mean", "3/13", "23%", "0", "3", "6", "1"]


def test_the_command_writes_the_csv_and_never_into_the_submissions(submissions, tmp_path, capsys):
    small = tmp_path / "class"
    for student in ("alice", "bob"):
        shutil.copytree(submissions / student, small / student)
    out = tmp_path / "grades.csv"
    assert main(["grade", str(small), "--out", str(out)]) == 0
    with out.open() as file:
        rows = list(csv.DictReader(file))
    assert tuple(rows[0]) == COLUMNS
    assert [(row["student"], row["task"], row["status"]) for row in rows] == [
        ("alice", "mixture_mean", "passed"), ("alice", "mixture_covariance", "passed"),
        ("bob", "mixture_mean", "not started"), ("bob", "mixture_covariance", "not started")]
    printed = capsys.readouterr().out
    assert "1/2  50%" in printed and "2 students" in printed
    assert main(["grade", str(small), "--out", str(small / "grades.csv")]) == 2
    assert "never writes into the submissions" in capsys.readouterr().err
    assert not (small / "grades.csv").exists()


def test_notebooks_are_found_per_student_and_a_py_twin_is_not_a_second_hand_in(submissions):
    students, skipped = find_notebooks(submissions)
    assert skipped == []
    assert [path.as_posix() for path in students["alice"]] == ["alice/03_mixture_moments.ipynb"]
    assert [path.as_posix() for path in students["heidi"]] == ["heidi.py"]
    assert len(students) == 13


def test_a_topic_is_matched_by_name_or_by_cells():
    exercises = {topic: {source.strip() for _, source in read_cells(NOTEBOOKS / f"{topic}.ipynb")}
                 for topic in (TOPIC, OTHER)}
    solved = read_cells(SOLUTIONS / f"{OTHER}.ipynb")
    assert match_topic(SOLUTIONS / f"{TOPIC}.ipynb", None, exercises) == TOPIC
    assert match_topic(SOLUTIONS / "homework.ipynb", solved, exercises) == OTHER
    assert match_topic(SOLUTIONS / "homework.ipynb", [("code", "print(1)")], exercises) is None
