"""Which tasks pass: load a notebook's functions and run its topic's self-checks, safely, and print the table.

``python -m latent_course progress [FOLDER]`` runs this on a student's ``work/`` folder; the class grader
(:mod:`latent_course.grading`) runs the same machinery on every submission. A notebook is loaded the way
:func:`latent_course.course.load_solution` loads a solution (only its imports, ``def`` and ``class`` statements run),
but cell by cell and tolerantly, since a student's notebook may hold a half-typed cell.

The checks run in a child process forked from a server that has already imported the course (so a child starts in
milliseconds), with a wall-clock limit per task and a memory limit (``resource.RLIMIT_AS``). An endless loop, a
huge allocation, a ``sys.exit()`` or a crash of the interpreter marks the task it happened in; the remaining tasks
of the notebook then run in a fresh process. As with any use of ``multiprocessing``, a script that calls these
functions needs the ``if __name__ == "__main__":`` guard (each child imports the script again).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import json
import multiprocessing
import multiprocessing.forkserver
import os
import re
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager

from . import checks
from .course import SOLUTIONS, definitions, topics

__all__ = ["STATUSES", "TASK_TIME_LIMIT", "MEMORY_LIMIT_MB", "Result", "tasks", "read_cells", "parse_cells",
           "load_functions", "check_namespace", "check_limits", "check_notebook", "check_file", "check_folder",
           "prepare_workers", "describe_status", "format_table", "main"]

STATUSES = ("passed", "failed", "not started", "error", "timed out")

TASK_TIME_LIMIT = 60.0
"""Seconds of wall-clock time one task's check may take in a child process. The course's own solutions need at
most about 0.4 s per task (01's ALS and 05's EM included); a student's loop-based version may be a hundred times
slower and still be right. The self-checks also stop a single call after ``checks._framework.TIME_LIMIT``."""

LOAD_TIME_LIMIT = 60.0
"""Seconds for a child process to load a notebook's definitions (imports included) before its first task."""

DEF_LINE = re.compile(r"^\s*def\s+(\w+)", re.MULTILINE)

MEMORY_LIMIT_MB = 2048
"""Address space of a child process, in MiB. The course's imports and checks need about 650 MiB."""


@dataclass(frozen=True)
class Result:
    """One task's outcome: `status` is one of ``STATUSES``; `detail` the first line of the reason."""

    topic: str
    task: str
    status: str
    detail: str = ""


@functools.cache
def tasks(topic: str, directory: Path = SOLUTIONS) -> tuple[str, ...]:
    """The task names of `topic` in the order their self-check cells appear in the solved notebook.

    Checks registered for the topic but not called in the notebook come last, in the registry's order.
    """
    registered = checks.topic_checks(topic)
    tree = ast.parse((Path(directory) / f"{topic}.py").read_text(encoding="utf-8"))
    called = [node.func.attr for statement in tree.body for node in ast.walk(statement)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and isinstance(node.func.value, ast.Name) and node.func.value.id == "checks"
              and node.func.attr in registered]
    ordered = dict.fromkeys(called)
    return tuple(ordered) + tuple(name for name in registered if name not in ordered)


def _first_line(text: str) -> str:
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


def read_cells(path: Path) -> list[tuple[str, str]]:
    """The ``(cell_type, source)`` of each cell of the notebook at `path` (``.ipynb``, or py:percent ``.py``).

    Raises
    ------
    ValueError
        If an ``.ipynb`` file is not valid JSON or not shaped like a notebook, or a file is not UTF-8 text.
    """
    import jupytext

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path.name} is not a text file ({error.reason})") from None
    if path.suffix != ".ipynb":
        return [(cell.cell_type, cell.source) for cell in jupytext.reads(text, fmt="py:percent").cells]
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path.name} is not a valid notebook (invalid JSON: {error})") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or not all(isinstance(cell, dict) for cell in cells):
        raise ValueError(f"{path.name} is not a valid notebook (no list of cells)")
    source = [cell.get("source", "") for cell in cells]
    return [(str(cell.get("cell_type", "")), "".join(text) if isinstance(text, list) else str(text))
            for cell, text in zip(cells, source, strict=True)]


def parse_cells(cells: Iterable[tuple[str, str]]) -> list[tuple[str, ast.Module | SyntaxError]]:
    """Each code cell's source and its syntax tree (IPython magics become calls), or the cell's ``SyntaxError``."""
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


def load_functions(cells: Iterable[tuple[str, str]]) -> tuple[dict, dict[str, str]]:
    """Run only the imports, ``def`` and ``class`` statements of each code cell, cell by cell.

    Returns
    -------
    namespace : dict
        What the notebook defines.
    errors : dict
        For a name that a cell meant to define but could not (a syntax error in its cell, a decorator that
        raised), the first line of the reason; the key ``""`` holds errors tied to no name (a failed import).
    """
    namespace: dict = {"__name__": "__student__"}
    errors: dict[str, str] = {}
    for source, tree in parse_cells(cells):
        if isinstance(tree, SyntaxError):
            reason = f"SyntaxError in {tree.filename}, line {tree.lineno}: {tree.msg}"
            errors.update(dict.fromkeys(DEF_LINE.findall(source) or [""], reason))
            continue
        for statement in definitions(tree):
            try:
                exec(compile(ast.Module(body=[statement], type_ignores=[]), "<notebook>", "exec"),
                     namespace)
            except Exception as error:  # noqa: BLE001 - a student's import or decorator may raise anything
                name = getattr(statement, "name", "")
                errors[name] = f"{type(error).__name__} while loading the notebook: {_first_line(error)}"
    return namespace, errors


def _check_one(topic: str, task: str, namespace: dict, errors: dict[str, str]) -> Result:
    function = namespace.get(task)
    if function is None:
        reason = errors.get(task) or f"the notebook defines no function {task} (renamed or deleted?)"
        if task not in errors and "" in errors:
            reason += f"; {errors['']}"
        return Result(topic, task, "error", reason)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            checks.topic_checks(topic)[task](function)
    except checks.NotImplementedYet as failure:
        detail = _first_line(failure)  # worth showing only when the stub is another function, called by this one
        return Result(topic, task, "not started", "" if detail.startswith(f"{task}: not implemented yet") else detail)
    except checks.CheckFailure as failure:
        return Result(topic, task, "failed", _first_line(failure))
    except (Exception, SystemExit) as error:  # noqa: BLE001 - the student's code may raise anything
        return Result(topic, task, "error", f"{type(error).__name__}: {_first_line(error)}".rstrip(": "))
    return Result(topic, task, "passed")


def check_namespace(topic: str, namespace: dict, errors: dict[str, str] | None = None,
                    only: Iterable[str] | None = None) -> Iterator[Result]:
    """Run `topic`'s self-checks on the functions in `namespace`, in this process, one :class:`Result` per task."""
    for task in (tasks(topic) if only is None else only):
        yield _check_one(topic, task, namespace, errors or {})


# --- child processes -------------------------------------------------------------------------------------------


def _limit_child(memory_limit_mb: int) -> None:
    import resource

    limit = memory_limit_mb * 2**20
    with contextlib.suppress(ValueError, OSError):  # macOS does not enforce (and may refuse) an address-space limit
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(Exception):  # no BLAS threads: children already run one per core
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # whatever the student's code prints goes nowhere
        os.dup2(devnull, fd)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the child


def _child(connection, topic: str, cells: list[tuple[str, str]], only: list[str], memory_limit_mb: int) -> None:
    _limit_child(memory_limit_mb)
    # The parent's wall clock limits each task here (reported as "timed out"), not the checks' own per-call limit.
    checks._framework.TIME_LIMIT = 0
    namespace, errors = load_functions(cells)
    for task in only:
        connection.send(("start", task))
        connection.send(("result", _check_one(topic, task, namespace, errors)))
    connection.close()


@functools.cache
def prepare_workers():
    """A forkserver that has imported the course and what its notebooks import, so that a child starts fast."""
    context = multiprocessing.get_context("forkserver")
    imported = set()
    for topic in topics():
        for node in definitions(ast.parse((SOLUTIONS / f"{topic}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module)
    context.set_forkserver_preload(["latent_course.progress", *sorted(name for name in imported if name)])
    # The server imports pyplot and its children never show a figure: Agg there, without changing this process's
    # environment (a Jupyter kernel started from it later must still show its figures inline).
    backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        if backend is None:
            del os.environ["MPLBACKEND"]
        else:
            os.environ["MPLBACKEND"] = backend
    return context


def _ended(process) -> str:
    process.join(5)
    code = process.exitcode
    if code is None:
        process.kill()
        process.join()
        return "the process stopped answering"
    if code < 0:
        name = signal.Signals(-code).name
        return f"the process was killed by {name}" + (" (a crash, e.g. a segmentation fault)"
                                                        if name in ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL") else "")
    return f"the process exited with code {code} (sys.exit or os._exit in the code?)"


def _run_child(topic, cells, only, time_limit, memory_limit_mb) -> tuple[dict[str, Result], Result | None]:
    """Run `only` tasks in one child; return the results received and, if the child did not finish, the result of
    the task it stopped in (``task == ""`` if it stopped while loading)."""
    context = prepare_workers()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, topic, cells, list(only), memory_limit_mb), daemon=True)
    process.start()
    sender.close()
    results: dict[str, Result] = {}
    current, deadline, limit = "", time.monotonic() + LOAD_TIME_LIMIT, LOAD_TIME_LIMIT
    try:
        while len(results) < len(only):
            if not receiver.poll(max(0.0, deadline - time.monotonic())):
                process.kill()
                process.join()
                return results, Result(topic, current, "timed out", f"still running after {limit:g} s (a loop that "
                                                                    "never ends, or far too slow?)")
            try:
                kind, value = receiver.recv()
            except (EOFError, OSError):
                return results, Result(topic, current, "error", _ended(process))
            if kind == "start":
                current, deadline, limit = value, time.monotonic() + time_limit, time_limit
            else:
                results[value.task] = value
        process.join(5)
        return results, None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
            process.join()


def check_limits(time_limit: float, memory_limit_mb: int) -> None:
    """Raise ValueError unless both limits are positive numbers."""
    for name, value in (("time_limit", time_limit), ("memory_limit_mb", memory_limit_mb)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{name} should be a positive number, got {value!r}")


def check_notebook(topic: str, cells: list[tuple[str, str]], *, time_limit: float = TASK_TIME_LIMIT,
                   memory_limit_mb: int = MEMORY_LIMIT_MB) -> list[Result]:
    """Run `topic`'s self-checks on the notebook made of `cells`, in child processes, one :class:`Result` per task.

    A task that exceeds `time_limit` seconds is "timed out"; one that ends its process (a crash, ``os._exit``)
    is an "error"; the tasks after it run in a new process. If loading itself ends the process, every remaining
    task gets that result.
    """
    check_limits(time_limit, memory_limit_mb)
    remaining = list(tasks(topic))
    results: dict[str, Result] = {}
    while remaining:
        done, stopped = _run_child(topic, cells, remaining, time_limit, memory_limit_mb)
        results.update(done)
        remaining = [task for task in remaining if task not in results]
        if stopped is None:
            break
        stopped_in = [stopped.task] if stopped.task else remaining
        if not stopped.task:
            stopped = Result(topic, "", stopped.status, f"while loading the notebook: {stopped.detail}")
        for task in stopped_in:
            results[task] = Result(topic, task, stopped.status, stopped.detail)
        remaining = [task for task in remaining if task not in results]
    return [results[task] for task in tasks(topic)]


def _not_run(topic: str, status: str, detail: str) -> list[Result]:
    return [Result(topic, task, status, detail) for task in tasks(topic)]


def check_file(topic: str, path: Path, **limits) -> list[Result]:
    """:func:`check_notebook` on the notebook file at `path`; an unreadable file gives an "error" per task."""
    try:
        cells = read_cells(path)
    except (ValueError, OSError) as error:
        return _not_run(topic, "error", _first_line(error))
    return check_notebook(topic, cells, **limits)


def check_folder(folder: Path, *, jobs: int | None = None, **limits) -> list[Result]:
    """One :class:`Result` per task of the course for the notebooks ``NN_topic.ipynb`` in `folder`.

    A topic whose ``.ipynb`` is missing is read from its ``.py`` twin; a topic with neither is "not started".
    Topics run in parallel, `jobs` at a time (default: one per core).
    """
    folder = Path(folder)
    prepare_workers()  # start the server once, before the threads that use it

    def run(topic: str) -> list[Result]:
        path = next((folder / f"{topic}{suffix}" for suffix in (".ipynb", ".py")
                     if (folder / f"{topic}{suffix}").is_file()), None)
        if path is None:
            return _not_run(topic, "not started", f"no notebook {topic}.ipynb in {folder.name}/")
        return check_file(topic, path, **limits)

    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count()) as pool:
        return [result for results in pool.map(run, topics()) for result in results]


def describe_status(result: Result) -> str:
    """``passed``, ``failed: <first line>``, ``error (TypeError: ...)`` and so on, for a table."""
    return f"{result.status}: {result.detail}" if result.detail else result.status


def format_table(results: list[Result], width: int = 110) -> str:
    """The results as a text table (topic, task, status), a topic's name shown on its first row only, and a total."""
    if not results:
        return "no tasks"
    topic_width = max(len("Topic"), *(len(result.topic) for result in results))
    task_width = max(len("Task"), *(len(result.task) for result in results))
    room = max(20, width - topic_width - task_width - 4)
    lines = [f"{'Topic':<{topic_width}}  {'Task':<{task_width}}  Status"]
    previous = None
    for result in results:
        status = describe_status(result)
        status = status if len(status) <= room else status[:room - 3] + "..."
        topic = result.topic if result.topic != previous else ""
        previous = result.topic
        lines.append(f"{topic:<{topic_width}}  {result.task:<{task_width}}  {status}".rstrip())
    passed = sum(result.status == "passed" for result in results)
    lines.append(f"{passed} of {len(results)} tasks pass")
    return "\n".join(lines)


def main(folder: Path, *, time_limit: float = TASK_TIME_LIMIT, memory_limit_mb: int = MEMORY_LIMIT_MB) -> int:
    """Print the progress table of the notebooks in `folder`; return 0 (2 if `folder` does not exist)."""
    folder = Path(folder)
    if not folder.is_dir():
        print(f"error: no folder {folder} (make lab creates work/ with your copies of the notebooks)",
              file=sys.stderr)
        return 2
    try:
        check_limits(time_limit, memory_limit_mb)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(check_folder(folder, time_limit=time_limit, memory_limit_mb=memory_limit_mb)))
    return 0
