"""The checks of each topic by task name, filled by the package when it imports its topic modules."""

from __future__ import annotations

from collections.abc import Callable

REGISTRY: dict[str, dict[str, Callable]] = {}
"""For each topic, its checks by task name, in the order of the module's ``__all__``."""


def topic_checks(topic: str) -> dict[str, Callable]:
    """The checks of `topic` by task name, e.g. ``{"mixture_mean": checks.mixture_mean, ...}``.

    Raises
    ------
    KeyError
        If no check module declares `topic`.
    """
    try:
        return dict(REGISTRY[topic])
    except KeyError:
        known = ", ".join(sorted(REGISTRY)) or "none"
        raise KeyError(f"no check module declares TOPIC = {topic!r} (known topics: {known})") from None
