"""Course tooling: where the notebooks live, the solution loader and the execution of solved notebooks."""

from __future__ import annotations

import ast
import types
from pathlib import Path

__all__ = ["ROOT", "SOLUTIONS", "NOTEBOOKS", "topics", "load_solution", "execute_solution"]

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"


def topics(directory: Path = SOLUTIONS) -> list[str]:
    """The topic names ``NN_topic`` of the py:percent notebooks in `directory`, in course order."""
    return sorted(path.stem for path in directory.glob("[0-9][0-9]_*.py"))


def _notebook_path(name: str, directory: Path) -> Path:
    path = Path(directory) / f"{name}.py"
    if not path.is_file():
        available = ", ".join(topics(Path(directory))) or "none"
        raise FileNotFoundError(f"no notebook {name!r} in {directory} (available: {available})")
    return path


def load_solution(name: str, directory: Path = SOLUTIONS) -> types.SimpleNamespace:
    """Return the functions and classes defined in the solved notebook `name`, without running the rest.

    Only the notebook's top-level imports and its ``def`` and ``class`` statements are executed, so loading is
    quick and has no side effects (no data loading, no figures, no training).

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
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    kept = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    body = [node for node in tree.body if isinstance(node, kept)]
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
    notebook = read_notebook(source.read_text(encoding="utf-8"))
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(source.parent)}})
    client.execute()
    target = source.with_suffix(".ipynb")
    jupytext.write(notebook, target, fmt="ipynb")
    return target
