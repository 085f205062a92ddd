"""The course's topics and their tasks, read from the manifest ``topics.json`` beside this module.

The manifest is written by the exercise generator (``python -m latent_course exercises``, which ``--check`` keeps
in step), so the runtime knows the course without its solved notebooks: in the full course and in a student
edition alike. A task is a function the student writes, named after its self-check; a topic's tasks are listed in
the order their self-check cells appear in the notebook.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

__all__ = ["MANIFEST", "manifest", "edition", "topics", "tasks", "title", "imports"]

MANIFEST = Path(__file__).with_name("topics.json")


@functools.cache
def _document() -> dict:
    try:
        return json.loads(MANIFEST.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"the course's manifest {MANIFEST.name} is missing from the latent_course package: "
                                "'python -m latent_course exercises' writes it") from None


def manifest() -> dict[str, dict]:
    """For each topic, in course order: ``{"title": ..., "tasks": [...], "imports": [...]}``."""
    return _document()["topics"]


def edition() -> str:
    """``"full"`` for the course with its solutions, ``"student"`` for a student edition (written by ``release``)."""
    return _document().get("edition", "full")


def topics() -> list[str]:
    """The topic names ``NN_topic`` of the course, in course order."""
    return list(manifest())


def _entry(topic: str) -> dict:
    try:
        return manifest()[topic]
    except (KeyError, TypeError):
        raise KeyError(f"{topic!r} is not a topic of the course (topics: {', '.join(topics())})") from None


def resolve(name: str) -> str:
    """The course topic named by `name`: its full name (``03_mixture_moments``) or its number (``03``, ``3``).

    Raises
    ------
    ValueError
        If `name` names no topic of the course; the message lists them.
    """
    names = topics()
    if name in names:
        return name
    matches = [topic for topic in names if isinstance(name, str) and name.isdigit()
               and topic.split("_", 1)[0] == f"{int(name):02d}"]
    if len(matches) != 1:
        raise ValueError(f"{name!r} is not a topic of the course (topics: {', '.join(names)})")
    return matches[0]


def tasks(topic: str) -> tuple[str, ...]:
    """The task names of `topic`, in the order their self-check cells appear in its notebook.

    Raises
    ------
    KeyError
        If `topic` is not a topic of the course.
    """
    return tuple(_entry(topic)["tasks"])


def written(topic: str) -> list[dict[str, str]]:
    """`topic`'s questions answered in words: ``{"question": its heading, "prompt": the cell's text before the
    answer}`` each, in notebook order."""
    return list(_entry(topic).get("written", []))


def title(topic: str) -> str:
    """The title of `topic`: the first heading of its notebook."""
    return _entry(topic)["title"]


def imports(topic: str | None = None) -> list[str]:
    """Every module the course's notebooks (or `topic`'s notebook) import at their top level, which a worker
    process imports ahead."""
    entries = manifest().values() if topic is None else [_entry(topic)]
    return sorted({module for entry in entries for module in entry["imports"]})
