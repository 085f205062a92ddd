"""Self-checks a student runs on their own functions, one per task: ``checks.mixture_mean(mixture_mean)``.

A passing check prints one line; a failing one raises :class:`CheckFailure` (an ``AssertionError``) that says
on which input, what was expected and what came back.

Every module of this package whose name does not start with ``_`` is one topic's checks: it sets ``TOPIC`` to the
topic's name (``"03_mixture_moments"``) and lists its checks in ``__all__``, each named after the student's
function it checks. The modules are found here, so adding a topic needs no edit of this file.
"""

from __future__ import annotations

import importlib
import pkgutil

from ._framework import CheckFailure, NotImplementedYet, show_failures_without_traceback
from ._registry import REGISTRY, topic_checks
from ._summary import summary


def _register_topic_modules() -> list[str]:
    names = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        topic = getattr(module, "TOPIC", None)
        if not isinstance(topic, str):
            raise ImportError(f"{module.__name__} must set TOPIC to the name of its topic, e.g. '03_mixture_moments'")
        if topic in REGISTRY:
            raise ImportError(f"{module.__name__}: topic {topic!r} already has a check module")
        REGISTRY[topic] = {}
        for name in module.__all__:
            if name in names:
                raise ImportError(f"{module.__name__}: a check named {name!r} exists in another topic already")
            globals()[name] = REGISTRY[topic][name] = getattr(module, name)
            names.append(name)
    return names


show_failures_without_traceback()

__all__ = ["CheckFailure", "NotImplementedYet", "REGISTRY", "summary", "topic_checks", *_register_topic_modules()]
