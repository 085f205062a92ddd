"""Scaffold a new topic: ``python -m latent_course new NN_name "Title"`` writes every piece a topic needs.

The pieces are the ones ``tests/test_course_structure.py`` requires of every topic: the solution (one example task
between solution markers, with its self-check cell), a check module with one reference comparison, its mutant test,
a derivation stub linked to the notebooks, and the README course-map row. The command then generates the exercise
pair and executes the solution, so the course's tests pass at once and the maintainer replaces the example with the
topic's content. It refuses to write anything if any of these pieces exists already.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from ..topics import MANIFEST
from .exercises import exercise_text, manifest_text, render_pair
from .solutions import ROOT, execute_solution, solution_topics

__all__ = ["NAME", "add_course_map_row", "new_topic", "planned_files"]

NAME = re.compile(r"^(?P<number>\d\d)_(?P<slug>[a-z][a-z0-9_]*)$")
MAP_ROW = re.compile(r"^\| (?P<number>\d\d) \|")

SOLUTION = r'''# %% [markdown]
# # <NUMBER> · <TITLE>
#
# What this notebook teaches, in a paragraph. The derivations are in the lecture notes
# [derivations/<NAME>.md](../derivations/<NAME>.md).
#
# **Your tasks**
#
# 1. `<TASK>(X)`: the mean of each column of `X` (an example task: replace it with the topic's own).
#
# After each task, run the self-check cell below it: it prints one line when your function is right and says what
# went wrong otherwise.

# %%
import numpy as np

from latent_course import checks
from latent_course.validation import check_matrix

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## Task 1: the column means
#
# The mean of column $d$ of a data matrix $\mathbf{X}$ of shape $(N, D)$ is $\bar x_d = \frac{1}{N} \sum_n x_{nd}$.

# %%
def <TASK>(X):
    """Mean of each column of a data matrix.

    Parameters
    ----------
    X : np.ndarray, shape (N, D)
        Data, one row per sample.

    Returns
    -------
    means : np.ndarray, shape (D,)
        The mean of each column.
    """
    X = check_matrix(X, "X")
    ### BEGIN SOLUTION: average each column over the rows (one line, no loop).
    return X.mean(axis=0)
    ### END SOLUTION


# %%
checks.<TASK>(<TASK>)

# %% [markdown]
# ## Using it
#
# Outputs are compared on every machine: seed every random source and print rounded numbers.

# %%
rng = np.random.default_rng(0)
X = rng.normal(loc=[1.0, -2.0, 3.0], size=(1000, 3))
np.testing.assert_allclose(<TASK>(X), X.T @ np.ones(len(X)) / len(X))  # checks: <LABEL>
print("column means:", <TASK>(X).round(2))

# %% [markdown]
# ## Summing up
#
# * One sentence per idea the notebook showed.
#
# The lecture notes [derivations/<NAME>.md](../derivations/<NAME>.md) derive the results step by step.

# %% [markdown]
# ## All tasks at a glance
#
# The cell below runs every self-check of this notebook once more and prints one row per task: passed, failed (with
# the first line of the check's message), not started, or error. Run it when you think you are done. From a
# terminal, `python -m latent_course progress` prints the same table for every topic, from your saved notebooks.

# %%
checks.summary("<NAME>")
'''

CHECKS = '''\
"""Self-checks for topic <NUMBER>, <TITLE>."""

from __future__ import annotations

import numpy as np

from ._answers import answer
from ._framework import call, check_close, passed

TOPIC = "<NAME>"
__all__ = ["<TASK>"]


def _cases():
    """Small data matrices X of shape (N, D): one row, one column, and random ones."""
    rng = np.random.default_rng(0)
    yield np.array([[1.5, -2.0, 0.0]])
    yield np.array([[1.0], [2.0], [4.0]])
    for shape in [(5, 2), (3, 4)]:
        yield rng.normal(scale=3.0, size=shape)


@answer
def _reference(X):
    # Independent of the solution's X.mean: a sum over the rows divided by their number.
    return np.add.reduce(X, axis=0) / X.shape[0]


@answer
def _mistakes(X):
    """What the usual mistakes return, each with its hint (a student edition stores these values)."""
    return [("these are the column sums; divide by the number of rows N.", X.sum(axis=0))] if X.shape[0] > 1 else []


def _hint(result, X):
    for hint, value in _mistakes(X):
        if np.shape(result) == value.shape and np.allclose(result, value):
            return hint
    return ""


def <TASK>(function) -> None:
    """Check ``function(X)`` returning the mean of each column of X, shape (D,).

    Parameters
    ----------
    function : callable
        The student's ``<TASK>(X)``, with ``X`` of shape (N, D).
    """
    __tracebackhide__ = True
    n_cases = 0
    for X in _cases():
        inputs = {"X": X}
        result = call(function, **inputs)
        check_close(function, result, _reference(X), inputs, what="the column means", why=_hint(result, X))
        n_cases += 1
    passed(function, n_cases)
'''

TEST = '''\
"""The topic <NUMBER> checks accept the solution and catch the typical wrong implementations."""

import pytest
from checking import assert_catches, assert_passes, mutant_params

from latent_course import checks
from latent_course.tools.solutions import load_solution

solution = load_solution("<NAME>")
check = checks.<TASK>


def test_the_solution_passes(capsys):
    assert_passes(check, solution.<TASK>, capsys)


MUTANTS = {
    "column sums": (lambda X: X.sum(axis=0), "divide by the number of rows"),
    "row means": (lambda X: X.mean(axis=1), "shape"),
    "a list": (lambda X: list(X.mean(axis=0)), "returned list"),
    "None": (lambda X: None, "returned NoneType"),
}


@pytest.mark.parametrize("mutant, fragment", mutant_params(MUTANTS))
def test_the_check_catches(mutant, fragment):
    assert_catches(check, mutant, fragment)


def test_a_stub_is_not_implemented_yet():
    def <TASK>(X):
        raise NotImplementedError

    with pytest.raises(checks.NotImplementedYet, match="not implemented yet") as failure:
        check(<TASK>)
    assert str(failure.value).startswith("<TASK>: ")
'''


DERIVATION = r'''# <NUMBER> · <TITLE>

*Lecture notes for the notebook [solutions/<NAME>.ipynb](../solutions/<NAME>.ipynb)
(exercise version: [notebooks/<NAME>.ipynb](../notebooks/<NAME>.ipynb)).*

## The column means

For a data matrix $\mathbf{X}$ of shape $(N, D)$, the mean of column $d$ is

$$\bar x_d = \frac{1}{N} \sum_{n=1}^N x_{nd},
\qquad \bar{\mathbf{x}} = \frac{1}{N} \mathbf{X}^\top \mathbf{1}.$$ (<LABEL>)

Replace this example with the topic's derivations, one section per task of the notebook. Every displayed equation
and quantitative claim carries a label, checked by an assertion marked `# checks: label` in the solved notebook or a
test, or cited from the references below (see [the conventions of the notes](README.md)).

## References

* C. M. Bishop, *Pattern Recognition and Machine Learning*, Springer (2006).
'''


def _fill(template: str, fields: dict[str, str]) -> str:
    for key, value in fields.items():
        template = template.replace(f"<{key}>", value)
    return template


def _check_arguments(name, title) -> tuple[re.Match, str]:
    if not isinstance(name, str) or not NAME.fullmatch(name):  # fullmatch: "$" would let a trailing newline in
        raise ValueError(f"name must look like 07_topic_name (two digits, an underscore, then lower-case letters, "
                         f"digits and underscores), got {name!r}")
    if not isinstance(title, str) or not title.strip() or not title.isprintable() or "|" in title:
        raise ValueError(f"title must be one non-empty line of printable characters without '|' (it goes into the "
                         f"README table), got {title!r}")
    if '"""' in title or "\\" in title:
        raise ValueError(f"title must not hold '\"\"\"' or a backslash (it goes into the check module's docstring), "
                         f"got {title!r}")
    return NAME.fullmatch(name), title.strip()


def planned_files(name: str, title: str, root: Path = ROOT) -> dict[Path, str]:
    """The files :func:`new_topic` writes for topic `name`, with their text (the README row excluded).

    The check module is named after the topic without its number (``07_example`` gives
    ``latent_course/checks/example.py``) and the example task after it (``example_column_means``).
    """
    match, title = _check_arguments(name, title)
    slug = match["slug"]
    fields = {"NAME": name, "NUMBER": match["number"], "TITLE": title, "TASK": f"{slug}_column_means",
              "LABEL": f"{slug.replace('_', '-')}-column-means"}
    return {
        root / "solutions" / f"{name}.py": _fill(SOLUTION, fields),
        root / "latent_course" / "checks" / f"{slug}.py": _fill(CHECKS, fields),
        root / "tests" / f"test_checks_{slug}.py": _fill(TEST, fields),
        root / "derivations" / f"{name}.md": _fill(DERIVATION, fields),
    }


def add_course_map_row(readme: str, name: str, title: str) -> str:
    """Return the README text `readme` with the course-map row of topic `name` inserted in course order.

    Raises
    ------
    ValueError
        If the README has no course map table or already has a row with the topic's number.
    """
    match, title = _check_arguments(name, title)
    number = match["number"]
    links = " | ".join(f"[{path}]({path})" for path in
                       (f"notebooks/{name}.ipynb", f"solutions/{name}.ipynb", f"derivations/{name}.md"))
    row = f"| {number} | {title} | {links} |"
    lines = readme.splitlines(keepends=True)
    rows = [(index, MAP_ROW.match(line)["number"]) for index, line in enumerate(lines) if MAP_ROW.match(line)]
    if any(existing == number for _, existing in rows):
        raise ValueError(f"README.md already has a course-map row for topic {number}")
    if rows:
        before = [index for index, existing in rows if existing < number]
        position = before[-1] + 1 if before else rows[0][0]
    else:
        separators = [index for index, line in enumerate(lines) if line.startswith("|---")]
        if not separators:
            raise ValueError("README.md has no course map table (a '| # | Topic | ...' header and a '|---' line)")
        position = separators[0] + 1
    return "".join(lines[:position]) + row + "\n" + "".join(lines[position:])


def new_topic(name: str, title: str, root: Path = ROOT, *, execute: bool = True) -> list[Path]:
    """Write the skeleton of topic `name`, generate its exercise pair and (with `execute`) run its solution.

    Parameters
    ----------
    name : str
        The topic, ``NN_name``: a number not used by another topic, then a lower-case name.
    title : str
        The topic's title, one line, for the notebook, the notes and the README course map.
    root : Path
        The course's folder (the one holding ``solutions/`` and ``README.md``).
    execute : bool
        Whether to execute the new solution and store its outputs (this starts a Jupyter kernel).

    Returns
    -------
    written : list of Path
        Every file written or changed, README.md included.

    Raises
    ------
    ValueError
        For a malformed name or title, or a topic number already in use.
    FileExistsError
        If any piece exists already; then nothing is written.
    """
    from .. import checks  # imported here, not for every command: it imports every topic's check module

    root = Path(root)
    planned = planned_files(name, title, root)
    number, slug = NAME.fullmatch(name).group("number", "slug")
    derived = [root / "solutions" / f"{name}.ipynb", root / "notebooks" / f"{name}.py",
               root / "notebooks" / f"{name}.ipynb"]
    existing = [path for path in [*planned, *derived] if path.exists()]
    if existing:
        listed = ", ".join(str(path.relative_to(root)) for path in existing)
        raise FileExistsError(f"not overwriting what exists: {listed}; nothing was written")
    if slug in vars(checks):
        raise ValueError(f"latent_course.checks already has a module or name {slug!r}; choose another topic name")
    taken = [topic for topic in solution_topics(root / "solutions") if topic[:2] == number]
    if taken:
        raise ValueError(f"topic number {number} is taken by {', '.join(taken)}; choose another number")
    readme_path = root / "README.md"
    readme = add_course_map_row(readme_path.read_text(encoding="utf-8"), name, title)

    for path, text in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    readme_path.write_text(readme, encoding="utf-8")
    source = root / "solutions" / f"{name}.py"
    exercise = exercise_text(planned[source], filename=f"solutions/{name}.py")
    (root / "notebooks").mkdir(exist_ok=True)
    for suffix, text in render_pair(exercise).items():
        (root / "notebooks" / f"{name}{suffix}").write_text(text, encoding="utf-8")
    manifest = root / "latent_course" / MANIFEST.name
    entries = json.loads(manifest.read_text(encoding="utf-8"))["topics"] if manifest.is_file() else {}
    entries.update(json.loads(manifest_text({name: exercise}))["topics"])
    manifest.write_text(json.dumps({"topics": dict(sorted(entries.items()))}, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    written = [*planned, readme_path, *derived[1:], manifest]
    if execute:
        written.append(execute_solution(name, directory=root / "solutions"))
    return written


def main(name: str, title: str, root: Path = ROOT) -> int:
    """Run ``python -m latent_course new``: scaffold the topic, print what was written and what to do next."""
    try:
        written = new_topic(name, title, root)
    except (ValueError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    print(f"\nNext: replace the example task in solutions/{name}.py, its check and its test with the topic's own, "
          f"write derivations/{name}.md, then\n  python -m latent_course exercises && "
          f"python -m latent_course execute {name} && make test\n(the guide: CONTRIBUTING.md)")
    return 0
