"""Generate the student notebooks in ``notebooks/`` from the solved notebooks in ``solutions/``.

A solution is a py:percent file. Code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines becomes a
``raise NotImplementedError`` stub (with the text after ``BEGIN SOLUTION`` as a one-line TODO); Markdown between
``<!-- ### BEGIN SOLUTION -->`` and ``<!-- ### END SOLUTION -->`` becomes "Your answer here". Everything else is
copied unchanged, outputs are cleared, and the bytes written depend only on the solution's text.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat

__all__ = ["MarkerError", "exercise_text", "generate", "read_notebook", "render_pair", "stale_files"]

CELL_HEADER = re.compile(r"^# %%(?P<rest>.*)$")
CELL_TYPE = re.compile(r"\[(markdown|md|raw)\]")
CODE_MARKER = re.compile(r"^(?P<indent>\s*)### (?P<kind>BEGIN|END) SOLUTION(?P<hint>.*)$")
MARKDOWN_MARKER = re.compile(r"^# <!-- ### (?P<kind>BEGIN|END) SOLUTION -->\s*$")
ANY_MARKER = re.compile(r"### (BEGIN|END) SOLUTION")
DEFAULT_TODO = "write your code here."
ANSWER_STUB = "# *Your answer here.*"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class MarkerError(ValueError):
    """A solution marker is misplaced: unclosed, nested, unmatched or outside a code or Markdown cell."""


def _stub(indent: str, hint: str) -> list[str]:
    todo = hint.strip().lstrip(":-").strip() or DEFAULT_TODO
    return [f"{indent}# TODO: {todo}", f"{indent}raise NotImplementedError"]


def exercise_text(text: str, filename: str = "<solution>") -> str:
    """Return the exercise version of a py:percent solution `text`.

    Raises
    ------
    MarkerError
        For an unclosed, nested or unmatched marker, or a marker outside a code or Markdown cell; the message
        names `filename` and the 1-based line.
    """
    out: list[str] = []
    cell_type = None
    open_line: int | None = None  # the line of the BEGIN marker of the region being replaced

    def fail(line_no: int, message: str):
        raise MarkerError(f"{filename}:{line_no}: {message}")

    for line_no, line in enumerate(text.splitlines(), start=1):
        header = CELL_HEADER.match(line)
        if header:
            if open_line is not None:
                fail(open_line, "BEGIN SOLUTION is not closed before the next cell")
            kind = CELL_TYPE.search(header["rest"])
            cell_type = {"md": "markdown"}.get(kind[1], kind[1]) if kind else "code"
            out.append(line)
            continue
        if not ANY_MARKER.search(line):
            if open_line is None:
                out.append(line)
            continue
        if cell_type not in ("code", "markdown"):
            fail(line_no, f"solution marker outside a code or Markdown cell (cell type: {cell_type or 'none'})")
        marker = (CODE_MARKER if cell_type == "code" else MARKDOWN_MARKER).match(line)
        if marker is None:
            expected = "### BEGIN/END SOLUTION on a line of its own" if cell_type == "code" else \
                "<!-- ### BEGIN SOLUTION --> / <!-- ### END SOLUTION --> on a line of its own"
            fail(line_no, f"malformed solution marker in a {cell_type} cell; expected {expected}")
        if marker["kind"] == "BEGIN":
            if open_line is not None:
                fail(line_no, f"nested BEGIN SOLUTION (the region opened on line {open_line} is still open)")
            open_line = line_no
            if cell_type == "code":
                out.extend(_stub(marker["indent"], marker["hint"]))
            else:
                out.append(ANSWER_STUB)
        else:
            if open_line is None:
                fail(line_no, "END SOLUTION without a matching BEGIN SOLUTION")
            open_line = None
    if open_line is not None:
        fail(open_line, "BEGIN SOLUTION is never closed")
    return "\n".join(out) + "\n"


def _with_stable_ids(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Give cells ids that depend on their position only, so that the same text gives the same bytes."""
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:03d}"
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    return notebook


def read_notebook(text: str) -> nbformat.NotebookNode:
    """Parse py:percent `text` into a notebook with stable cell ids and the course's kernel."""
    return _with_stable_ids(jupytext.reads(text, fmt="py:percent"))


def render_pair(text: str) -> dict[str, str]:
    """Return the ``{".py": ..., ".ipynb": ...}`` texts of the notebook written in py:percent `text`."""
    notebook = read_notebook(text)
    return {".py": jupytext.writes(notebook, fmt="py:percent"), ".ipynb": jupytext.writes(notebook, fmt="ipynb")}


def _planned(solutions: Path, notebooks: Path) -> dict[Path, str]:
    planned = {}
    for source in sorted(solutions.glob("[0-9][0-9]_*.py")):
        text = exercise_text(source.read_text(encoding="utf-8"), filename=f"{source.parent.name}/{source.name}")
        for suffix, content in render_pair(text).items():
            planned[notebooks / (source.stem + suffix)] = content
    return planned


def generate(solutions: Path, notebooks: Path, *, check: bool = False) -> list[Path]:
    """Write (or, with `check`, compare) every exercise notebook pair.

    Returns
    -------
    changed : list of Path
        The files that were written, or with `check` the files that differ from what would be written
        (missing files and exercise notebooks without a solution included).
    """
    planned = _planned(solutions, notebooks)
    changed = [path for path, content in planned.items()
               if not path.exists() or path.read_text(encoding="utf-8") != content]
    if check:
        return changed + stale_files(planned, notebooks)
    notebooks.mkdir(parents=True, exist_ok=True)
    for path in changed:
        path.write_text(planned[path], encoding="utf-8")
    return changed


def stale_files(planned: dict[Path, str], notebooks: Path) -> list[Path]:
    """Exercise notebooks on disk that no solution produces."""
    on_disk = [*notebooks.glob("[0-9][0-9]_*.py"), *notebooks.glob("[0-9][0-9]_*.ipynb")]
    return sorted(path for path in on_disk if path not in planned)
