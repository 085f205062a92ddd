"""Which tasks pass: load a notebook's functions and run its topic's self-checks, safely, and print the table.

``python -m latent_course progress [FOLDER]`` runs this on a student's ``work/`` folder. A notebook is loaded by
:func:`latent_course.notebook.load_functions` (only its imports, ``def`` and ``class`` statements run, cell by cell
and tolerantly, since a student's notebook may hold a half-typed cell).

The checks run in a child process forked from a server that has already imported the course (so a child starts in
milliseconds), with a wall-clock limit per task and a memory limit (``resource.RLIMIT_AS``). An endless loop, a
huge allocation, a ``sys.exit()`` or a crash of the interpreter marks the task it happened in; the remaining tasks
of the notebook then run in a fresh process. As with any use of ``multiprocessing``, a script that calls these
functions needs the ``if __name__ == "__main__":`` guard (each child imports the script again).
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import checks
from .checks._summary import STATUSES, Result, check_namespace, format_table
from .notebook import first_line, load_functions, read_cells
from .topics import imports, tasks, topics

__all__ = ["STATUSES", "TASK_TIME_LIMIT", "MEMORY_LIMIT_MB", "Result", "check_limits", "check_notebook",
           "check_file", "check_folder", "prepare_workers", "main"]

TASK_TIME_LIMIT = 60.0
"""Seconds of wall-clock time one task's check may take in a child process. The course's own solutions need at
most about 0.4 s per task (01's ALS and 05's EM included); a student's loop-based version may be a hundred times
slower and still be right. The self-checks also stop a single call after ``checks._framework.TIME_LIMIT``."""

LOAD_TIME_LIMIT = 60.0
"""Seconds for a child process to load a notebook's definitions (imports included) before its first task."""

MEMORY_LIMIT_MB = 2048
"""Address space of a child process, in MiB. The course's imports and checks need about 650 MiB."""


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
        connection.send(("result", next(check_namespace(topic, namespace, errors, only=[task]))))
    connection.close()


@functools.cache
def prepare_workers():
    """A forkserver that has imported the course and what its notebooks import, so that a child starts fast."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["latent_course.progress", *imports()])
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
    """Raise ValueError unless both limits are positive finite numbers (a whole number of MiB)."""
    for name, value in (("time_limit", time_limit), ("memory_limit_mb", memory_limit_mb)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
            raise ValueError(f"{name} should be a positive number, got {value!r}")
    if not float(memory_limit_mb).is_integer():
        raise ValueError(f"memory_limit_mb should be a whole number of MiB, got {memory_limit_mb!r}")


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
        return _not_run(topic, "error", first_line(error))
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
    results = check_folder(folder, time_limit=time_limit, memory_limit_mb=memory_limit_mb)
    print(format_table(results))
    for line in kept_copies(folder, results):
        print(line)
    return 0


def kept_copies(folder: Path, results: list[Result]) -> list[str]:
    """A line for each topic with unfinished tasks whose earlier notebook ``NN_topic.<date>.ipynb`` (kept by
    ``update``) is in `folder`: the table counts only ``NN_topic.ipynb``, so say where the earlier work is."""
    folder, lines = Path(folder), []
    for topic in topics():
        earlier = sorted(folder.glob(f"{topic}.*.ipynb"))
        if earlier and any(result.topic == topic and result.status != "passed" for result in results):
            lines.append(f"{topic}: your earlier notebook {earlier[-1].name} is kept in {folder.name}/; the "
                         f"table counts {topic}.ipynb only, so paste your functions into it to count them")
    return lines
