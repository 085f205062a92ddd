"""The rules that keep nbval's comparison of stored outputs identical on every machine, where a test can tell.

nbval compares the text a solved notebook prints, character for character. These tests read the stored outputs
and the solution sources; the rules that need judgement (never print eigenvectors or anything else whose sign or
order is arbitrary) are in CONTRIBUTING.md.
"""

import ast
import re

import jupytext
import nbformat
import pytest

from latent_course.tools.solutions import SOLUTIONS
from latent_course.topics import topics

MAX_SIGNIFICANT_DIGITS = 6
"""Printed floats are rounded: last digits differ between BLAS builds and CPUs."""

FLOAT = re.compile(r"(?<![\w.])[-+]?(?P<mantissa>\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")
VOLATILE = {
    "a timing": re.compile(r"\b\d+(?:\.\d+)?\s?(?:ns|µs|us|ms|s|sec|secs|seconds?|min|minutes?)\b|Wall time|CPU times"
                           r"|\bper loop\b|\bit/s\b"),
    "a machine path": re.compile(r"(?<![\w.])(?:/(?:home|tmp|root|Users|usr|var|opt|work)/|[A-Z]:\\)"),
    "a memory address": re.compile(r"\bat 0x[0-9a-fA-F]+"),
}
IGNORED = re.compile(r"NBVAL_(IGNORE_OUTPUT|SKIP)")


def _compared_texts(notebook):
    """(cell index, text) of every text output that nbval compares."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or IGNORED.search(cell.source + " ".join(cell.metadata.get("tags", []))):
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                yield index, output.text
            for mime, data in output.get("data", {}).items():
                if mime.startswith("text/"):
                    yield index, data if isinstance(data, str) else "".join(data)


def unstable_outputs(notebook) -> list[str]:
    """One line per stored output that breaks a rule: unrounded floats, timings, paths, addresses."""
    problems = []
    for index, text in _compared_texts(notebook):
        for number in FLOAT.finditer(text):
            digits = number["mantissa"].replace(".", "").lstrip("0")
            if len(digits) > MAX_SIGNIFICANT_DIGITS:
                problems.append(f"cell {index} prints {number[0]} with {len(digits)} significant digits (round to at "
                                f"most {MAX_SIGNIFICANT_DIGITS}, e.g. .round(4) or f'{{x:.4g}}')")
        for what, pattern in VOLATILE.items():
            problems += [f"cell {index} prints {what}: {found[0]!r}" for found in pattern.finditer(text)]
    return problems


def _is_scipy_stats(node) -> bool:
    """``stats`` or ``scipy.stats``: its multivariate_normal is a distribution, not NumPy's sampler."""
    return getattr(node, "id", getattr(node, "attr", None)) == "stats"


def default_sampling_method(source: str) -> list[int]:
    """Lines calling ``Generator.multivariate_normal`` without naming its ``method``.

    The default method factors the covariance with an SVD, whose signs may differ between LAPACK builds, so the
    same seed can give different samples on another machine. ``method="cholesky"`` is stable; a notebook that needs
    singular covariances says ``method="svd"`` (or ``"eigh"``) and then prints nothing that depends on the draws'
    signs.
    """
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "multivariate_normal" and len(node.args) + len(node.keywords) >= 2
            and not _is_scipy_stats(node.func.value) and "method" not in [keyword.arg for keyword in node.keywords]]


@pytest.mark.parametrize("name", topics())
def test_stored_outputs_are_stable(name):
    problems = unstable_outputs(jupytext.read(SOLUTIONS / f"{name}.ipynb"))
    assert not problems, f"solutions/{name}.py: edit these cells, then re-execute:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", topics())
def test_gaussian_sampling_names_its_method(name):
    lines = default_sampling_method((SOLUTIONS / f"{name}.py").read_text(encoding="utf-8"))
    assert not lines, (f"solutions/{name}.py, lines {lines}: pass method='cholesky' to rng.multivariate_normal "
                       "(the SVD default can give other samples on another machine)")


def _notebook(*texts, source="x = 1", tags=()):
    notebook = jupytext.reads("# %%\n" + source + "\n", fmt="py:percent")
    notebook.cells[0].metadata["tags"] = list(tags)
    notebook.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text=text) for text in texts]
    return notebook


@pytest.mark.parametrize("text, fragment", [
    ("loss 0.123456789\n", "9 significant digits"),
    ("[0.12345678 1.        ]\n", "8 significant digits"),
    ("mean -1234.5678\n", "8 significant digits"),
    ("1.2345678e-05\n", "8 significant digits"),
    ("one sweep takes 12.3 ms\n", "a timing"),
    ("CPU times: user 3 s\n", "a timing"),
    ("Wall time: 1.2 s\n", "a timing"),
    ("read /home/ann/data.npy\n", "a machine path"),
    ("<Figure at 0x7f3a2c>\n", "a memory address"),
])
def test_unstable_outputs_are_found(text, fragment):
    problems = unstable_outputs(_notebook(text))
    assert any(fragment in problem for problem in problems), problems


@pytest.mark.parametrize("text", [
    "loss 0.1235\n", "E[x] = [1.3  2.55]\n", "inertia 6.25427e+07\n", "929606 ratings, 3.1% known\n",
    "version 1.26.4\n", "k = 5 sweeps, 10 steps\n", "tol 1e-06\n",
])
def test_stable_outputs_pass(text):
    assert unstable_outputs(_notebook(text)) == []


@pytest.mark.parametrize("source, tags", [("# NBVAL_IGNORE_OUTPUT: timing\nx = 1", ()), ("x = 1", ["NBVAL_SKIP"])])
def test_cells_nbval_ignores_are_not_read(source, tags):
    assert unstable_outputs(_notebook("took 1.5 s\n", source=source, tags=tags)) == []


@pytest.mark.parametrize("source, lines", [
    ("rng.multivariate_normal(mean, cov, size=3)", [1]),
    ("rng.multivariate_normal(mean, cov)", [1]),
    ("rng.multivariate_normal(mean, cov, size=3, method='svd')", []),
    ("rng.multivariate_normal(mean, cov, size=3, method='cholesky')", []),
    ("stats.multivariate_normal(mean, cov).pdf(x)", []),
    ("scipy.stats.multivariate_normal(mean, cov).pdf(x)", []),
    ("stats.multivariate_normal.logpdf(x)", []),
])
def test_the_default_sampling_method_is_found(source, lines):
    assert default_sampling_method(source) == lines
