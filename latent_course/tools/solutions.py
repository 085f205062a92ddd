"""Where the course's folders are, the solution loader and the execution of solved notebooks."""

from __future__ import annotations

import types
from pathlib import Path

from ..notebook import load_notebook

__all__ = ["ROOT", "SOLUTIONS", "NOTEBOOKS", "solution_topics", "load_solution", "execute_solution",
           "require_course"]

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"


def solution_topics(directory: Path = SOLUTIONS) -> list[str]:
    """The topic names ``NN_topic`` of the py:percent notebooks in `directory`, in course order."""
    return sorted(path.stem for path in Path(directory).glob("[0-9][0-9]_*.py"))


def _notebook_path(name: str, directory: Path) -> Path:
    """The notebook of topic `name` in `directory`; names only, never paths (no reading outside `directory`)."""
    available = solution_topics(Path(directory))
    if name not in available:
        raise FileNotFoundError(f"no notebook {name!r} in {directory}: give a topic name "
                                f"(available: {', '.join(available) or 'none'})")
    return Path(directory) / f"{name}.py"


def require_course(directory: Path = SOLUTIONS) -> None:
    """Raise FileNotFoundError, saying where the course must be, when `directory` holds no solved notebook.

    The course's folders are looked for beside the installed package: they are there for an editable install of a
    clone of the course (``pip install -e .``), not after a plain ``pip install``, which copies the package alone,
    nor in a student edition, which has no solutions.
    """
    if not solution_topics(Path(directory)):
        raise FileNotFoundError(f"no course found: the solved notebooks (solutions/NN_topic.py) must be in "
                                f"{directory}, beside the latent_course package; this command is for the full "
                                f"course, installed from a clone with 'pip install -e .' (a student edition has "
                                f"no solutions)")


def load_solution(name: str, directory: Path = SOLUTIONS) -> types.SimpleNamespace:
    """Return the functions and classes defined in the solved notebook `name` (its py:percent source), without
    running the rest: see :func:`latent_course.notebook.load_notebook`.

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
    return load_notebook(_notebook_path(name, directory))


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
    # Figures at twice the pixels of their displayed size, sharp on the site, in the PDF and on high-density screens.
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                            extra_arguments=["--InlineBackend.figure_formats=retina"],
                            resources={"metadata": {"path": str(source.parent)}})
    client.execute()
    target = source.with_suffix(".ipynb")
    jupytext.write(notebook, target, fmt="ipynb")
    return target
