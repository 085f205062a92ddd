"""Course tooling: where the notebooks live, the solution loader and the execution of solved notebooks."""

from __future__ import annotations

import ast
import types
from pathlib import Path

__all__ = ["ROOT", "SOLUTIONS", "NOTEBOOKS", "topics", "definitions", "load_solution", "execute_solution",
           "require_course"]

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"


def topics(directory: Path = SOLUTIONS) -> list[str]:
    """The topic names ``NN_topic`` of the py:percent notebooks in `directory`, in course order."""
    return sorted(path.stem for path in directory.glob("[0-9][0-9]_*.py"))


def _notebook_path(name: str, directory: Path) -> Path:
    """The notebook of topic `name` in `directory`; names only, never paths (no writing outside `directory`)."""
    available = topics(Path(directory))
    if name not in available:
        raise FileNotFoundError(f"no notebook {name!r} in {directory}: give a topic name "
                                f"(available: {', '.join(available) or 'none'})")
    return Path(directory) / f"{name}.py"


def require_course(directory: Path = SOLUTIONS) -> None:
    """Raise FileNotFoundError, saying where the course must be, when `directory` holds no solved notebook.

    The course's folders are looked for beside the installed package: they are there for an editable install of a
    clone of the course (``pip install -e .``), not after a plain ``pip install``, which copies the package alone.
    """
    if not topics(Path(directory)):
        raise FileNotFoundError(f"no course found: the solved notebooks (solutions/NN_topic.py) must be in "
                                f"{directory}, beside the latent_course package; install the course from a clone "
                                f"with 'pip install -e .' and run the command there")


def definitions(tree: ast.Module) -> list[ast.stmt]:
    """All that loading a notebook runs: the top-level imports, ``def`` and ``class`` statements of `tree`, and the
    assignments ``name = load_solution(...)`` by which a topic uses another topic's functions."""
    return [node for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)) or _loads_a_topic(node)]


def _loads_a_topic(node: ast.stmt) -> bool:
    """Whether `node` is ``name = load_solution(...)``."""
    return (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "load_solution")


def load_solution(name: str, directory: Path = SOLUTIONS) -> types.SimpleNamespace:
    """Return the functions and classes defined in the solved notebook `name`, without running the rest.

    Only the notebook's top-level imports, its ``def`` and ``class`` statements and its ``name = load_solution(...)``
    assignments (a topic using another topic's functions) are executed, not its other cells (no data loading, no
    figures, no training). These statements do run code: the imports, the other topics they load, and what a ``def``
    evaluates when it is executed (decorators and default argument values, e.g. ``def f(data=load_ratings(...))``
    would read the file at load time) and a class body. The course's notebooks keep those to constants.

    Parameters
    ----------
    name : str
        The topic, e.g. ``"03_mixture_moments"``.
    directory : Path
        Where the py:percent notebooks are; ``notebooks/`` gives the students' stubs instead.

    Returns
    -------
    namespace : types.SimpleNamespace
        One attribute per function or class defined at the top level of the notebook.
    """
    path = _notebook_path(name, directory)
    body = definitions(ast.parse(path.read_text(encoding="utf-8-sig"), filename=str(path)))
    namespace = {"__name__": f"latent_course.solutions.{name.replace('-', '_')}"}
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), namespace)
    defined = [node.name for node in body if isinstance(node, ast.FunctionDef | ast.ClassDef)]
    return types.SimpleNamespace(**{name: namespace[name] for name in defined})


def execute_solution(name: str, directory: Path = SOLUTIONS, timeout: int = 600) -> Path:
    """Run the solved notebook `name` from its py:percent source and write the executed ``.ipynb`` beside it.

    Returns
    -------
    path : Path
        The ``.ipynb`` written.
    """
    import jupytext
    from nbclient import NotebookClient

    from .exercises import read_notebook

    source = _notebook_path(name, directory)
    notebook = read_notebook(source.read_text(encoding="utf-8-sig"))
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(source.parent)}})
    client.execute()
    target = source.with_suffix(".ipynb")
    jupytext.write(notebook, target, fmt="ipynb")
    return target
