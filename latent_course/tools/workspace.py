"""The student's own working copy: ``work/`` holds their notebooks, and no course command writes over them.

``make lab`` (:func:`lab`) copies the exercise notebooks of topics the student does not have yet into ``work/``,
prints :func:`status` and starts JupyterLab with its file browser in ``work/``. When the course's version of an
exercise changes, ``status`` says so and :func:`update` keeps the student's notebook under a dated name beside a
fresh copy. What each copy was made from is kept in ``work/.course/`` (the exercise's py:percent text), so
"changed upstream" means: the course's exercise differs from the one the student's copy started as.
"""

from __future__ import annotations

import ast
import datetime
import os
import shutil
import sys
from pathlib import Path

from ..notebook import parse_cells, read_cells
from ..topics import resolve, topics
from ..topics import written as written_questions
from .gradebook import answer_in
from .solutions import NOTEBOOKS, ROOT

__all__ = ["WORK", "SUFFIXES", "WorkError", "check_work", "copy_new", "status", "update", "lab"]

WORK = ROOT / "work"
# JupyterLab's defaults for `make lab` (overrides.json): no news pop-up and no update check; a student's own settings
# still win.
LAB_SETTINGS = Path(__file__).parent / "lab_settings"
SUFFIXES = (".ipynb", ".py")
BASE = ".course"

NEW, UP_TO_DATE, CHANGED, UNKNOWN = "new", "up to date", "changed upstream", "unknown"


class WorkError(ValueError):
    """A `work` folder the commands cannot use as it is: the message says what is in the way."""


def check_work(work: Path, *, exists: bool = False) -> None:
    """Raise :class:`WorkError` unless `work` is a folder (or, unless `exists`, nothing yet) in which each topic's
    notebook, if present, is a file and the course's record ``.course`` is a folder: checked before any command
    writes, so that nothing is half-written."""
    work = Path(work)
    if work.is_symlink() and not work.exists():
        raise WorkError(f"{_shown(work)} is a link to nothing ({os.readlink(work)}); remove it or make the folder")
    if work.exists() and not work.is_dir():
        raise WorkError(f"{_shown(work)} is a file, not a folder; move it away so that the course can make the folder")
    if not work.exists():
        if exists:
            raise WorkError(f"no folder {_shown(work)} (make lab creates work/ with your copies of the notebooks)")
        return
    record = work / BASE
    if record.is_symlink() or (record.exists() and not record.is_dir()):
        raise WorkError(f"{_shown(record)} should be the course's folder of records; move it away")
    for topic in topics():
        for suffix in SUFFIXES:
            path = work / f"{topic}{suffix}"
            if path.is_symlink() and not path.exists():
                raise WorkError(f"{_shown(path)} is a link to nothing; remove it (or restore what it pointed to)")
            if path.exists() and not path.is_file():
                raise WorkError(f"{_shown(path)} is a folder where your notebook should be; rename or move it")


def _has(work: Path, topic: str) -> bool:
    return any((work / f"{topic}{suffix}").exists() for suffix in SUFFIXES)


def _copy_exclusive(source: Path, target: Path) -> None:
    """Copy `source` to `target`, failing rather than writing over an existing file."""
    with source.open("rb") as reading, target.open("xb") as writing:
        shutil.copyfileobj(reading, writing)


def _copy_fresh(topic: str, work: Path, notebooks: Path) -> None:
    """Copy both files of `topic`'s exercise pair into `work` (neither may exist) and record what was copied."""
    (work / BASE).mkdir(parents=True, exist_ok=True)
    for suffix in SUFFIXES:
        _copy_exclusive(notebooks / f"{topic}{suffix}", work / f"{topic}{suffix}")
    # Jupytext reads the inputs of a pair from its newer file and refuses a text file much older than the
    # notebook: give both files the same time.
    now = datetime.datetime.now().timestamp()
    for suffix in SUFFIXES:
        os.utime(work / f"{topic}{suffix}", (now, now))
    (work / BASE / f"{topic}.py").write_bytes((notebooks / f"{topic}.py").read_bytes())


def copy_new(work: Path = WORK, notebooks: Path = NOTEBOOKS) -> list[str]:
    """Copy the exercise notebooks of the topics that `work` does not have yet; return those topics."""
    work = Path(work)
    check_work(work)
    work.mkdir(parents=True, exist_ok=True)
    copied = [topic for topic in topics() if not _has(work, topic)]
    for topic in copied:
        _copy_fresh(topic, work, Path(notebooks))
    return copied


def status(work: Path = WORK, notebooks: Path = NOTEBOOKS) -> dict[str, str]:
    """For each topic of the course: ``"new"`` (not in `work` yet), ``"up to date"``, ``"changed upstream"``
    (the course's exercise differs from the one the student's copy was made from) or ``"unknown"`` (no record of
    what the copy was made from)."""
    work, notebooks = Path(work), Path(notebooks)
    check_work(work)
    states = {}
    for topic in topics():
        base = work / BASE / f"{topic}.py"
        if not _has(work, topic):
            states[topic] = NEW
        elif not base.is_file():
            states[topic] = UNKNOWN
        else:
            same = base.read_bytes() == (notebooks / f"{topic}.py").read_bytes()
            states[topic] = UP_TO_DATE if same else CHANGED
    return states


def format_status(states: dict[str, str], work: Path = WORK) -> str:
    """The status as lines a student reads, with what to do for each topic that needs something."""
    width = max(map(len, states), default=0)
    advice = {
        NEW: "new: `make lab` copies it into work/",
        UP_TO_DATE: "up to date",
        CHANGED: "changed upstream: `python -m latent_course update {number}` gets the new version "
                 "and keeps yours",
        UNKNOWN: "unknown (no record of the version it was copied from); "
                 "`python -m latent_course update {number}` gets the current one and keeps yours",
    }
    lines = [f"Your notebooks: {_shown(Path(work))}/ (no course command writes over them)"]
    lines += [f"  {topic:<{width}}  {advice[state].format(number=topic[:2])}" for topic, state in states.items()]
    return "\n".join(lines)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _functions(cells) -> dict[str, str]:
    """The top-level functions of a notebook's cells, each as its syntax tree's text (comments and layout aside)."""
    return {node.name: ast.dump(node) for _, tree in parse_cells(cells) if isinstance(tree, ast.Module)
            for node in tree.body if isinstance(node, ast.FunctionDef)}


def _function_texts(cells) -> dict[str, str]:
    """The top-level functions of a notebook's cells as written, comments included (a task's TODO lines)."""
    return {node.name: ast.get_source_segment(source, node) or "" for source, tree in parse_cells(cells)
            if isinstance(tree, ast.Module) for node in tree.body if isinstance(node, ast.FunctionDef)}


def _kept_name(work: Path, topic: str, now: datetime.datetime) -> str:
    for stem in (f"{topic}.{now:%Y-%m-%d}", f"{topic}.{now:%Y-%m-%d-%H%M%S}"):
        if not any((work / f"{stem}{suffix}").exists() for suffix in SUFFIXES):
            return stem
    raise FileExistsError(f"{topic}: a kept copy named {stem} exists already; try again in a second")


def update(topic: str, work: Path = WORK, notebooks: Path = NOTEBOOKS,
           now: datetime.datetime | None = None) -> list[str]:
    """Keep the student's notebook of `topic` under a dated name and copy the course's current version beside it.

    Nothing is deleted or written over: the student's pair ``NN_topic.ipynb``/``.py`` is renamed to
    ``NN_topic.YYYY-MM-DD.ipynb``/``.py`` and a fresh pair takes its place. Returns the lines to print, which name
    the functions the student wrote (those that differ from the copy they started from) to carry over.
    """
    topic = resolve(topic)
    work, notebooks = Path(work), Path(notebooks)
    state = status(work, notebooks)[topic]
    if state == NEW:
        _copy_fresh(topic, work, notebooks)
        return [f"{topic}: copied the exercise into {_shown(work)}/{topic}.ipynb"]
    if state == UP_TO_DATE:
        return [f"{topic}: up to date, nothing to do"]
    mine = next(work / f"{topic}{suffix}" for suffix in SUFFIXES if (work / f"{topic}{suffix}").exists())
    base = work / BASE / f"{topic}.py"
    base_cells = read_cells(base if base.is_file() else notebooks / f"{topic}.py")
    started_from, started_texts = _functions(base_cells), _function_texts(base_cells)
    try:
        my_cells = read_cells(mine)
        written = _functions(my_cells)
    except ValueError:
        my_cells = written = None
    kept = _kept_name(work, topic, now or datetime.datetime.now())
    for suffix in SUFFIXES:
        if (work / f"{topic}{suffix}").exists():
            os.rename(work / f"{topic}{suffix}", work / f"{kept}{suffix}")
    (work / BASE / f"{topic}.py").unlink(missing_ok=True)
    _copy_fresh(topic, work, notebooks)

    lines = [f"{topic}: the course's version changed.",
             f"  your notebook is kept as {_shown(work)}/{kept}{mine.suffix}",
             f"  the new version is {_shown(work)}/{topic}.ipynb"]
    if written is None:
        return [*lines, "  (your notebook could not be read, so which functions to carry over is not known)"]
    fresh = _function_texts(read_cells(notebooks / f"{topic}.py"))
    yours = [name for name, tree in written.items() if started_from.get(name) != tree]
    answers = [question["question"] for question in written_questions(topic) if answer_in(my_cells, question)]
    if not yours and not answers:
        return [*lines, "  you had not changed any function nor written an answer, so there is nothing to carry over"]
    if yours:
        lines.append("  carry over the functions you wrote: " + ", ".join(yours))
    for name in yours:
        if name in started_texts and name in fresh and fresh[name] != started_texts[name]:
            lines.append(f"    {name}: its task changed in this version; read it before pasting yours")
        elif name in started_texts and name not in fresh:
            lines.append(f"    {name}: no longer part of the notebook")
    if answers:
        lines.append("  carry over your written answers: " + "; ".join(f"'{question}'" for question in answers))
    return lines


def lab(jupyter_arguments: list[str], work: Path = WORK) -> None:
    """Copy new topics into `work`, print the status, then become JupyterLab, served from the course's root with
    its file browser in `work` (so the notebooks' links to ``../derivations/`` work)."""
    for topic in copy_new(work):
        print(f"copied {topic} into {_shown(Path(work))}/")
    print(format_status(status(work), work), flush=True)
    relative = Path(work).resolve().relative_to(ROOT)
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={ROOT}",
               f"--LabApp.default_url=/lab/tree/{relative.as_posix()}",
               # Only `work` can be changed from the lab (the course's own files stay as a `git pull` expects them) ...
               "--ServerApp.contents_manager_class=latent_course.tools.labfiles.CourseContentsManager",
               f"--CourseContentsManager.writable_folder={relative.as_posix()}",
               # ... and no pop-up asks about Jupyter's news (it would cover the first outputs): LAB_SETTINGS's defaults
               f"--LabApp.app_settings_dir={LAB_SETTINGS}", *jupyter_arguments]
    os.execv(sys.executable, command)


def main_status(work: Path = WORK) -> int:
    """Print :func:`status` for the student; return the exit status (2 if `work` is not usable)."""
    try:
        states = status(work)
    except WorkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_status(states, work))
    return 0


def main_update(names: list[str], work: Path = WORK) -> int:
    """Run :func:`update` for each topic in `names` and print what it did; return the exit status."""
    for name in names:
        try:
            print("\n".join(update(name, work)))
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    return 0
