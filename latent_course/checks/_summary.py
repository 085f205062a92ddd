"""``checks.summary("03_mixture_moments")``: the last cell of every notebook, one line per task of the topic."""

from __future__ import annotations

import inspect


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
    from ..progress import check_namespace, format_table, tasks

    if not isinstance(topic, str):
        raise TypeError(f"topic should be a topic's name such as '03_mixture_moments', got {type(topic).__name__}")
    try:
        tasks(topic)
    except (KeyError, FileNotFoundError):
        raise ValueError(f"topic {topic!r} is not a topic of the course") from None
    if namespace is None:
        namespace = inspect.currentframe().f_back.f_globals
    print(format_table(list(check_namespace(topic, namespace))))
