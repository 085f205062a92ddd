"""Generate the student notebooks in ``notebooks/`` from the solved notebooks in ``solutions/``.

A solution is a py:percent file. Code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines becomes a
``raise NotImplementedError`` stub (with the text after ``BEGIN SOLUTION`` as a one-line TODO); Markdown between
``<!-- ### BEGIN SOLUTION -->`` and ``<!-- ### END SOLUTION -->`` becomes "Your answer here". A cell tagged
``solution-only`` (``# %% tags=["solution-only"]``, for instance a "going further" cell whose code would give a task
away) is left out of the exercise. Everything else is copied unchanged, outputs are cleared, and the bytes written
depend only on the solution's text.

An instructor's typo must never copy a solution into an exercise: a line that looks like a marker but is not exactly
one is an error naming the file and line, cells are split where Jupytext splits them, and every exercise code cell
must compile.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import jupytext
import nbformat
from jupytext.stringparser import StringParser

from ..notebook import parse_cells

__all__ = ["ExerciseError", "MarkerError", "exercise_text", "generate", "manifest_text", "read_notebook",
           "render_pair", "stale_files"]

# Jupytext's own cell boundaries in py:percent files, for the comment character "#": "# %%", "#%%", "# %% [markdown]",
# "# %%% ...", and the bare "# <codecell>" and "# In[ ]:".
CELL_HEADER = re.compile(r"^\s*#\s*%%(%*)\s(?P<rest>.*)$")
BARE_CELL_HEADER = re.compile(r"^\s*#\s*(%%|<codecell>|In\[[0-9 ]*\]:?)\s*$")
CELL_TYPE = re.compile(r"\[(markdown|md|raw)\]")
CODE_MARKER = re.compile(r"^(?P<indent>[ \t]*)### (?:(?P<begin>BEGIN) SOLUTION(?::(?P<hint>.*))?|END SOLUTION)[ \t]*$")
MARKDOWN_MARKER = re.compile(r"^# <!-- ### (?P<begin>BEGIN|END) SOLUTION -->[ \t]*$")
# Anything that looks like a marker (any case, any number of #, any separator) and is not exactly one is an error,
# so that a typo can never copy a solution into the exercise.
LOOKS_LIKE_MARKER = re.compile(r"(?<![a-z])(begin|end)[\s_-]*solution", re.IGNORECASE)
# Characters that str.splitlines (and so Jupytext) takes as line ends although Python does not.
ODD_LINE_BREAKS = re.compile("[\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
DEFAULT_TODO = "write your code here."
ANSWER_STUB = "# *Your answer here.*"
CHECK_LABEL = re.compile(r"\s*#\s*checks:.*$")
SOLUTION_ONLY = "solution-only"
SOLUTION_ONLY_TAG = re.compile(r"\btags=\[[^\]]*[\"']solution-only[\"']")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class ExerciseError(ValueError):
    """A solution cannot be turned into an exercise safely; the message names the file and line."""


class MarkerError(ExerciseError):
    """A solution marker is malformed or misplaced: unclosed, nested, unmatched, outside a code or Markdown cell,
    or a line that looks like a marker but is not exactly one."""


def _stub(indent: str, hint: str | None) -> list[str]:
    todo = (hint or "").strip() or DEFAULT_TODO
    return [f"{indent}# TODO: {todo}", f"{indent}raise NotImplementedError"]


def _cell_type(line: str) -> str | None:
    """The type of the cell that `line` opens, as Jupytext reads it, or None when it opens no cell."""
    header = CELL_HEADER.match(line)
    if header:
        kind = CELL_TYPE.search(header["rest"])
        return {"md": "markdown"}.get(kind[1], kind[1]) if kind else "code"
    return "code" if BARE_CELL_HEADER.match(line) else None


def exercise_text(text: str, filename: str = "<solution>") -> str:
    """Return the exercise version of a py:percent solution `text`.

    Cells are split where Jupytext splits them; a leading byte-order mark is dropped. After the replacement every
    code cell of the exercise must still compile.

    Raises
    ------
    MarkerError
        For an unclosed, nested or unmatched marker, a marker outside a code or Markdown cell, or a line that looks
        like a marker (``## BEGIN SOLUTION``, ``### begin solution``, ``x = 1  ### END SOLUTION`` ...) but is not
        exactly one; the message names `filename` and the 1-based line.
    ExerciseError
        For a character that Jupytext would take as a line break inside a line (U+2028 ...), or an exercise code
        cell that is not valid Python.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be the str of a py:percent solution, got {type(text).__name__}")
    text = text.removeprefix("\ufeff")
    out: list[str] = []
    origin: list[int] = []  # the solution line of every output line
    cells: list[tuple[str | None, int]] = [(None, 0)]  # (type, index in `out` of its first line) of every cell
    cell_type = None
    open_line: int | None = None  # the line of the BEGIN marker of the region being replaced
    skipping = False  # inside a cell tagged solution-only

    def fail(line_no: int, message: str, error=MarkerError):
        raise error(f"{filename}:{line_no}: {message}")

    def emit(line_no: int, *lines: str):
        out.extend(lines)
        origin.extend([line_no] * len(lines))

    odd = ODD_LINE_BREAKS.search(text)
    if odd:
        fail(len(re.findall("\r\n|\r|\n", text[:odd.start()])) + 1, f"character U+{ord(odd[0]):04X} is a line break "
             f"for Jupytext; inside a string write it as the escape '\\u{ord(odd[0]):04x}'", ExerciseError)
    strings = StringParser("python")  # as Jupytext, no cell starts inside a multi-line string
    for line_no, line in enumerate(text.splitlines(), start=1):
        quoted = strings.is_quoted()
        strings.read_line(line)
        opens = None if quoted else _cell_type(line)
        if opens:
            if open_line is not None:
                fail(open_line, f"BEGIN SOLUTION is not closed before the next cell (line {line_no})")
            strings = StringParser("python")
            cell_type = opens
            skipping = bool(SOLUTION_ONLY_TAG.search(line))
            if not skipping:
                cells.append((cell_type, len(out)))
                emit(line_no, line)
            continue
        if skipping:
            continue
        if not LOOKS_LIKE_MARKER.search(line):
            if open_line is None:
                emit(line_no, line)
            continue
        if cell_type not in ("code", "markdown"):
            fail(line_no, f"solution marker outside a code or Markdown cell (cell type: {cell_type or 'none'})")
        marker = (CODE_MARKER if cell_type == "code" else MARKDOWN_MARKER).match(line)
        if marker is None:
            expected = "'### BEGIN SOLUTION' (optionally ': TODO text') or '### END SOLUTION' on a line of its own" \
                if cell_type == "code" else "'# <!-- ### BEGIN SOLUTION -->' or '# <!-- ### END SOLUTION -->'"
            fail(line_no, f"{line.strip()!r} looks like a solution marker but is not exactly one; in a {cell_type} "
                          f"cell write {expected}")
        if marker["begin"] == "BEGIN":
            if open_line is not None:
                fail(line_no, f"nested BEGIN SOLUTION (the region opened on line {open_line} is still open)")
            open_line = line_no
            if cell_type == "code":
                emit(line_no, *_stub(marker["indent"], marker["hint"]))
            else:
                emit(line_no, ANSWER_STUB)
        else:
            if open_line is None:
                fail(line_no, "END SOLUTION without a matching BEGIN SOLUTION")
            open_line = None
    if open_line is not None:
        fail(open_line, "BEGIN SOLUTION is never closed")
    while skipping and out and not out[-1].strip():  # the blank lines that separated the left-out last cell
        out.pop()
        origin.pop()
    _strip_check_labels(out, cells)
    _check_code_cells(out, origin, cells, filename)
    exercise = "\n".join(out) + "\n"
    _check_same_cells(text, exercise, filename)
    return exercise


def _strip_check_labels(lines: list[str], cells: list[tuple[str | None, int]]) -> None:
    """Drop the ``# checks: label`` comments from the code cells: they tie a solved notebook's assertion to its claim
    in the notes, for maintainers; students need not see them."""
    ends = [start for _, start in cells[1:]] + [len(lines)]
    for (cell_type, start), end in zip(cells, ends, strict=True):
        if cell_type == "code":
            lines[start + 1:end] = [CHECK_LABEL.sub("", line) for line in lines[start + 1:end]]


def _check_same_cells(solution: str, exercise: str, filename: str):
    """Require Jupytext to read the same sequence of cell types in the exercise as in the solution."""
    kinds = [[cell.cell_type for cell in jupytext.reads(text, fmt="py:percent").cells
              if SOLUTION_ONLY not in cell.metadata.get("tags", [])] for text in (solution, exercise)]
    if kinds[0] != kinds[1]:
        pairs = zip(*kinds, strict=False)
        first = next((i for i, (solved, exercise) in enumerate(pairs) if solved != exercise), min(map(len, kinds)))
        raise ExerciseError(f"{filename}: the exercise would have {len(kinds[1])} cells where the solution has "
                            f"{len(kinds[0])}, differing from cell {first + 1} on; check the solution markers there")


def _check_code_cells(lines: list[str], origin: list[int], cells: list[tuple[str | None, int]], filename: str):
    """Require every code cell of the exercise to compile (as in the .py file, where magics are comments)."""
    ends = [start for _, start in cells[1:]] + [len(lines)]
    for (cell_type, start), end in zip(cells, ends, strict=True):
        if cell_type != "code":
            continue
        body = lines[start + 1:end]  # without the header line
        try:
            compile("\n".join(body) + "\n", filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                    dont_inherit=True)
        except SyntaxError as error:
            line_no = origin[start + 1 + min(max((error.lineno or 1) - 1, 0), len(body) - 1)]
            raise ExerciseError(f"{filename}:{line_no}: the exercise's code cell would not be valid Python "
                                f"({error.msg}); check the solution markers around it") from None


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


def _title(notebook: nbformat.NotebookNode, topic: str) -> str:
    """The notebook's first level-1 Markdown heading, or else the topic's name."""
    headings = (line[2:].strip() for cell in notebook.cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("# "))
    return next(headings, topic)


def _code_trees(notebook: nbformat.NotebookNode) -> list[ast.Module]:
    """The syntax trees of the notebook's code cells (as IPython would run them)."""
    return [tree for _, tree in parse_cells((cell.cell_type, cell.source) for cell in notebook.cells)
            if isinstance(tree, ast.Module)]


def _tasks(topic: str, notebook: nbformat.NotebookNode) -> list[str]:
    """`topic`'s checks, in the order the notebook calls them (``checks.name(...)``); checks registered for the
    topic but never called come last, in the registry's order. A topic whose check module this process has not
    imported (one just scaffolded) has the checks its notebook calls."""
    from .. import checks

    try:
        registered = checks.topic_checks(topic)
    except KeyError:
        registered = {}
    called = [node.func.attr for tree in _code_trees(notebook) for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and isinstance(node.func.value, ast.Name) and node.func.value.id == "checks"
              and (node.func.attr in registered or not registered and node.func.attr != "summary")]
    ordered = dict.fromkeys(called)
    return [*ordered, *(name for name in registered if name not in ordered)]


def _imports(notebook: nbformat.NotebookNode) -> list[str]:
    """The modules the notebook imports at the top level of its code cells."""
    modules = set()
    for tree in _code_trees(notebook):
        for node in tree.body:
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module)
    return sorted(modules)


def _written(notebook: nbformat.NotebookNode) -> list[dict[str, str]]:
    """The questions answered in words: each Markdown cell that ends in the answer's stub, as its heading (the
    question) and its text before the stub (what a student's cell starts with)."""
    stub = ANSWER_STUB.removeprefix("# ")
    questions = []
    for cell in notebook.cells:
        text = cell.source.rstrip()
        if cell.cell_type == "markdown" and text.endswith(stub):
            heading = next((line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")), "")
            questions.append({"question": heading, "prompt": text.removesuffix(stub).rstrip()})
    return questions


def manifest_text(exercises: dict[str, str]) -> str:
    """The manifest the runtime reads (:mod:`latent_course.topics`): for each topic, its title, its tasks, its
    questions answered in words and the modules its notebook imports, from the topics' exercise texts (py:percent)
    by name, in course order."""
    entries = {}
    for topic in sorted(exercises):
        notebook = read_notebook(exercises[topic])
        entries[topic] = {"title": _title(notebook, topic), "tasks": _tasks(topic, notebook),
                          "written": _written(notebook), "imports": _imports(notebook)}
    return json.dumps({"topics": entries}, indent=1, ensure_ascii=False) + "\n"


def _planned(solutions: Path, notebooks: Path, manifest: Path | None) -> dict[Path, str]:
    sources = sorted(Path(solutions).glob("[0-9][0-9]_*.py"))
    if not sources:
        raise FileNotFoundError(f"no solution notebooks (NN_topic.py) in {solutions}")
    planned, exercises = {}, {}
    for source in sources:
        filename = f"{source.parent.name}/{source.name}"
        try:
            solution = source.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise ExerciseError(f"{filename}: not UTF-8 text ({error.reason} at byte {error.start})") from None
        exercises[source.stem] = exercise_text(solution, filename=filename)
        for suffix, content in render_pair(exercises[source.stem]).items():
            planned[Path(notebooks) / (source.stem + suffix)] = content
    if manifest is not None:
        planned[Path(manifest)] = manifest_text(exercises)
    return planned


def generate(solutions: Path, notebooks: Path, *, check: bool = False, manifest: Path | None = None) -> list[Path]:
    """Write (or, with `check`, compare) every exercise notebook pair, and the course's manifest at `manifest`
    if given (see :func:`manifest_text`).

    Nothing is written unless every solution converts (see :func:`exercise_text`).

    Raises
    ------
    FileNotFoundError
        If `solutions` holds no ``NN_topic.py`` notebook (then `notebooks` is not created either).
    ExerciseError
        If a solution cannot be converted safely; the message names the file and line.

    Returns
    -------
    changed : list of Path
        The files that were written, or with `check` the files that differ from what would be written
        (missing files and exercise notebooks without a solution included).
    """
    planned = _planned(solutions, notebooks, manifest)
    changed = [path for path, content in planned.items()
               if not path.exists() or path.read_text(encoding="utf-8") != content]
    if check:
        return changed + stale_files(planned, notebooks)
    Path(notebooks).mkdir(parents=True, exist_ok=True)
    for path in changed:
        path.write_text(planned[path], encoding="utf-8")
    return changed


def stale_files(planned: dict[Path, str], notebooks: Path) -> list[Path]:
    """Exercise notebooks on disk that no solution produces."""
    on_disk = [*notebooks.glob("[0-9][0-9]_*.py"), *notebooks.glob("[0-9][0-9]_*.ipynb")]
    return sorted(path for path in on_disk if path not in planned)
