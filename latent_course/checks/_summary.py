"""One row per task: run a topic's self-checks on a notebook's functions and print the table.

``checks.summary("03_mixture_moments")`` is the last cell of every notebook; ``python -m latent_course progress``
prints the same table for the whole course, from the saved notebooks (:mod:`latent_course.progress`).
"""

from __future__ import annotations

import contextlib
import inspect
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..notebook import first_line
from ..topics import resolve, tasks
from ._framework import CheckFailure, NotImplementedYet
from ._registry import topic_checks

__all__ = ["STATUSES", "Result", "check_task", "check_namespace", "describe_status", "format_table", "summary"]

STATUSES = ("passed", "failed", "not started", "error", "timed out")


@dataclass(frozen=True)
class Result:
    """One task's outcome: `status` is one of ``STATUSES``; `detail` the first line of the reason."""

    topic: str
    task: str
    status: str
    detail: str = ""


def check_task(topic: str, task: str, function, *, reason: str = "") -> Result:
    """Run the self-check of `task` on `function` (None: the notebook does not define it, for `reason`)."""
    if function is None:
        return Result(topic, task, "error", reason or f"the notebook defines no function {task} (renamed or deleted?)")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            topic_checks(topic)[task](function)
    except NotImplementedYet as failure:
        detail = first_line(failure)  # worth showing only when the stub is another function, called by this one
        return Result(topic, task, "not started", "" if detail.startswith(f"{task}: not implemented yet") else detail)
    except CheckFailure as failure:
        return Result(topic, task, "failed", first_line(failure))
    except (Exception, SystemExit) as error:  # noqa: BLE001 - the student's code may raise anything
        return Result(topic, task, "error", f"{type(error).__name__}: {first_line(error)}".rstrip(": "))
    return Result(topic, task, "passed")


def _missing_reason(task: str, errors: dict[str, str]) -> str:
    reason = errors.get(task) or f"the notebook defines no function {task} (renamed or deleted?)"
    if task not in errors and "" in errors:
        reason += f"; {errors['']}"
    return reason


def check_namespace(topic: str, namespace: dict, errors: dict[str, str] | None = None,
                    only: Iterable[str] | None = None) -> Iterator[Result]:
    """Run `topic`'s self-checks on the functions in `namespace`, in this process, one :class:`Result` per task.

    `errors` gives, for a name the notebook failed to define, why (see
    :func:`latent_course.notebook.load_functions`).
    """
    errors = errors or {}
    for task in (tasks(topic) if only is None else only):
        yield check_task(topic, task, namespace.get(task), reason=_missing_reason(task, errors))


def describe_status(result: Result) -> str:
    """``passed``, ``failed: <first line>``, ``error (TypeError: ...)`` and so on, for a table."""
    return f"{result.status}: {result.detail}" if result.detail else result.status


def _shorten(text: str, room: int) -> str:
    """`text` cut to `room` characters with "...", after its last whole word unless that would lose much."""
    cut = text[:room - 3]
    word_end = cut.rstrip().rfind(" ")
    return (cut[:word_end].rstrip(" ,;:") if word_end > room - 25 else cut) + "..."


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
        status = status if len(status) <= room else _shorten(status, room)
        topic = result.topic if result.topic != previous else ""
        previous = result.topic
        lines.append(f"{topic:<{topic_width}}  {result.task:<{task_width}}  {status}".rstrip())
    passed = sum(result.status == "passed" for result in results)
    lines.append(f"{passed} of {len(results)} tasks pass")
    return "\n".join(lines)


def summary(topic: str, namespace: dict | None = None) -> None:
    """Run every self-check of `topic` on the functions defined in the notebook and print one row per task.

    Unlike a single check, a failing task does not stop the cell: each row says passed, failed (with the first
    line of the check's message), not started, or error (with the exception's type). The same table for the
    whole course, run on the saved notebooks, is ``python -m latent_course progress``.

    Parameters
    ----------
    topic : str
        The notebook's topic, e.g. ``"03_mixture_moments"``.
    namespace : dict, optional
        Where the functions are; by default the namespace of the caller (the notebook).
    """
    if not isinstance(topic, str):
        raise TypeError(f"topic should be a topic's name such as '03_mixture_moments', got {type(topic).__name__}")
    topic = resolve(topic)  # "03" is "03_mixture_moments"; a ValueError lists the topics
    names = tasks(topic)
    if namespace is None:
        namespace = inspect.currentframe().f_back.f_globals
    # In a notebook, a function missing from the session is one whose cell has not run (Run All stopped earlier).
    not_run = {task: "not run yet: run its cell (Run > Run All Cells)"
               for task in names if task not in namespace}
    print(format_table(list(check_namespace(topic, namespace, errors=not_run))))
