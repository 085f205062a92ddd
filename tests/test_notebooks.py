"""Structure of the course's notebooks: generated exercises, consistent pairs, stubs that the checks report."""

import ast

import jupytext
import pytest

from latent_course import checks
from latent_course.tools.exercises import generate
from latent_course.tools.solutions import NOTEBOOKS, SOLUTIONS, load_solution
from latent_course.topics import topics

TOPICS = topics()


def _cells(path):
    notebook = jupytext.read(path)
    return [(cell.cell_type, cell.source, cell.metadata.get("tags", [])) for cell in notebook.cells]


def _check_calls(name):
    """The ``checks.NAME(function)`` calls in a notebook's code cells, as (check name, function name)."""
    tree = ast.parse((NOTEBOOKS / f"{name}.py").read_text())
    return [(node.func.attr, node.args[0].id) for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "checks"
            and node.func.attr != "summary"]  # checks.summary("NN_topic") is the last cell, not a task's check


def test_the_course_has_topics():
    assert TOPICS, f"no solution notebooks NN_topic.py in {SOLUTIONS.name}/"


def test_exercise_notebooks_are_exactly_what_the_generator_writes():
    assert generate(SOLUTIONS, NOTEBOOKS, check=True) == []


@pytest.mark.parametrize("folder", [SOLUTIONS, NOTEBOOKS], ids=["solutions", "notebooks"])
@pytest.mark.parametrize("name", TOPICS)
def test_each_py_ipynb_pair_has_the_same_cells(folder, name):
    assert _cells(folder / f"{name}.py") == _cells(folder / f"{name}.ipynb")


@pytest.mark.parametrize("name", TOPICS)
def test_exercise_notebooks_have_no_outputs(name):
    notebook = jupytext.read(NOTEBOOKS / f"{name}.ipynb")
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


@pytest.mark.parametrize("name", TOPICS)
def test_solved_notebooks_are_executed(name):
    notebook = jupytext.read(SOLUTIONS / f"{name}.ipynb")
    counts = [cell.execution_count for cell in notebook.cells if cell.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))


@pytest.mark.parametrize("name", TOPICS)
def test_every_self_check_reports_the_stub_as_not_implemented_yet(name):
    calls = _check_calls(name)
    assert calls, f"{name} has no self-check cells"
    stubs = load_solution(name, directory=NOTEBOOKS)
    for check_name, function_name in calls:
        with pytest.raises(checks.NotImplementedYet, match=f"{function_name}: not implemented yet"):
            getattr(checks, check_name)(getattr(stubs, function_name))
