"""Reading a notebook and loading what it defines: the cells of an ``.ipynb`` or py:percent file, their syntax
trees, and the functions and classes a notebook defines, without running its other cells.

A topic's notebook may use another topic's functions with ``moments = load_topic("03_mixture_moments")``: the
notebook of that topic beside it (in ``work/``, the student's own; in ``solutions/``, the solved one).
"""

from __future__ import annotations

import ast
import contextvars
import json
import re
import types
from collections.abc import Iterable
from pathlib import Path

__all__ = ["read_cells", "parse_cells", "definitions", "load_functions", "load_notebook", "load_topic",
           "first_line"]

TOPIC_NAME = re.compile(r"[0-9]{2}_[A-Za-z0-9_]+")
LOADER = "load_topic"
"""The name of the loader, whose assignments ``name = load_topic(...)`` loading a notebook also runs."""

_LOADING_FROM = contextvars.ContextVar("loading_from", default=None)
"""The folder of the notebook being loaded, where a ``load_topic`` inside it looks for the other topic."""


def first_line(text) -> str:
    """The first non-blank line of `text`, stripped (a one-line reason for a table or a message)."""
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


def read_cells(path: Path) -> list[tuple[str, str]]:
    """The ``(cell_type, source)`` of each cell of the notebook at `path` (``.ipynb``, or py:percent ``.py``).

    A leading byte-order mark is ignored.

    Raises
    ------
    ValueError
        If an ``.ipynb`` file is not valid JSON or not shaped like a notebook, or a file is not UTF-8 text.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path.name} is not a text file ({error.reason})") from None
    if path.suffix != ".ipynb":
        import jupytext  # here: it takes longer to import than a notebook takes to read

        return [(cell.cell_type, cell.source) for cell in jupytext.reads(text, fmt="py:percent").cells]
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path.name} is not a valid notebook (invalid JSON: {error})") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or not all(isinstance(cell, dict) for cell in cells):
        raise ValueError(f"{path.name} is not a valid notebook (no list of cells)")
    result = []
    for cell in cells:
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise ValueError(f"{path.name} is not a valid notebook (a cell's source is not text)")
        result.append((str(cell.get("cell_type", "")), source))
    return result


def parse_cells(cells: Iterable[tuple[str, str]]) -> list[tuple[str, ast.Module | SyntaxError]]:
    """Each code cell's source and its syntax tree (IPython magics become calls), or the cell's ``SyntaxError``."""
    from IPython.core.inputtransformer2 import TransformerManager

    transformer = TransformerManager()
    parsed = []
    for index, (cell_type, source) in enumerate(cells):
        if cell_type != "code":
            continue
        try:
            parsed.append((source, ast.parse(transformer.transform_cell(source), filename=f"cell {index + 1}")))
        except SyntaxError as error:
            parsed.append((source, error))
    return parsed


def definitions(tree: ast.Module) -> list[ast.stmt]:
    """All that loading a notebook runs: the top-level imports, ``def`` and ``class`` statements of `tree`, and the
    assignments ``name = load_topic(...)`` by which a topic uses another topic's functions."""
    return [node for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)) or _loads_a_topic(node)]


def _loads_a_topic(node: ast.stmt) -> bool:
    """Whether `node` is ``name = load_topic(...)``."""
    return (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
            and node.value.func.id == LOADER)


def load_functions(cells: Iterable[tuple[str, str]]) -> tuple[dict, dict[str, str]]:
    """Run only the imports, ``def`` and ``class`` statements of each code cell, cell by cell, tolerantly (a
    student's notebook may hold a half-typed cell).

    Returns
    -------
    namespace : dict
        What the notebook defines.
    errors : dict
        For a name that a cell meant to define but could not (a syntax error in its cell, a decorator that
        raised), the first line of the reason; the key ``""`` holds errors tied to no name (a failed import).
    """
    def_line = re.compile(r"^\s*def\s+(\w+)", re.MULTILINE)
    namespace: dict = {"__name__": "__student__"}
    errors: dict[str, str] = {}
    for source, tree in parse_cells(cells):
        if isinstance(tree, SyntaxError):
            reason = f"SyntaxError in {tree.filename}, line {tree.lineno}: {tree.msg}"
            errors.update(dict.fromkeys(def_line.findall(source) or [""], reason))
            continue
        for statement in definitions(tree):
            try:
                exec(compile(ast.Module(body=[statement], type_ignores=[]), "<notebook>", "exec"), namespace)
            except Exception as error:  # noqa: BLE001 - a student's import or decorator may raise anything
                name = getattr(statement, "name", "")
                errors[name] = f"{type(error).__name__} while loading the notebook: {first_line(error)}"
    return namespace, errors


def load_notebook(path: Path) -> types.SimpleNamespace:
    """Return the functions and classes defined in the notebook at `path`, without running its other cells.

    Only the notebook's top-level imports, its ``def`` and ``class`` statements and its ``name = load_topic(...)``
    assignments run, not its other cells (no data loading, no figures, no training). These statements do run code:
    the imports, the other topics they load, and what a ``def`` evaluates when it is executed (decorators and
    default argument values) and a class body.

    Parameters
    ----------
    path : Path
        A notebook, ``.ipynb`` or py:percent ``.py``.

    Returns
    -------
    namespace : types.SimpleNamespace
        One attribute per function or class defined at the top level of the notebook.

    Raises
    ------
    ValueError
        If the file cannot be read as a notebook or a code cell is not valid Python.
    Exception
        Whatever one of the statements that loading runs raises.
    """
    path = Path(path)
    body = []
    for _, tree in parse_cells(read_cells(path)):
        if isinstance(tree, SyntaxError):
            raise ValueError(f"{path.name}: SyntaxError in {tree.filename}, line {tree.lineno}: {tree.msg}")
        body += definitions(tree)
    namespace = {"__name__": f"latent_course.notebooks.{path.stem}"}
    token = _LOADING_FROM.set(path.parent)
    try:
        exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), namespace)
    finally:
        _LOADING_FROM.reset(token)
    defined = [node.name for node in body if isinstance(node, ast.FunctionDef | ast.ClassDef)]
    return types.SimpleNamespace(**{name: namespace[name] for name in defined})


def load_topic(name: str, folder: Path | str | None = None) -> types.SimpleNamespace:
    """The functions and classes of topic `name`'s notebook in `folder`.

    By default `folder` is the running notebook's own (the current folder: a notebook in ``work/`` gets the
    student's notebook of that topic), or, while a notebook is being loaded, the folder of that notebook.

    ``NN_topic.ipynb`` is read, or its py:percent twin ``NN_topic.py`` when there is no ``.ipynb``.

    Raises
    ------
    ValueError
        If `name` is not a topic's name ``NN_name`` (a name, never a path).
    FileNotFoundError
        If `folder` holds neither file; the message says which topic to open or copy there.
    """
    if not isinstance(name, str) or not TOPIC_NAME.fullmatch(name):
        raise ValueError(f"give a topic's name such as '03_mixture_moments', got {name!r}")
    folder = Path(folder if folder is not None else _LOADING_FROM.get() or Path.cwd())
    for suffix in (".ipynb", ".py"):
        if (folder / f"{name}{suffix}").is_file():
            return load_notebook(folder / f"{name}{suffix}")
    raise FileNotFoundError(f"this notebook uses the functions of topic {name}, but {folder.resolve()} has no "
                            f"{name}.ipynb: work through that topic first (or copy its notebook beside this one)")
