"""What the checks compare with: answers computed from a case's inputs in the full course, stored in a student
edition.

A check module marks with :func:`answer` each function that computes, from a case's inputs, what a task must
return (the reference) or what a typical mistake returns (the candidates behind a hint). In the full course these
functions run. A student edition carries no answer: ``python -m latent_course release`` runs every check on the
solved notebooks while :func:`recording` what each marked function returned for which inputs, stores the values
beside the check modules (``_stored/<module>.npz``, read without pickle) and leaves the marked functions without a
body. There a marked function looks its value up by a digest of its inputs.

An input that the release never saw (one computed from what the student's function returned) has no stored
value: the marked function raises :class:`NotStored`, and the check skips what needs it (:func:`if_stored`). The
properties that need no answer (shapes, dtypes, unchanged inputs, reproducibility, monotone EM ...) are checked
in both editions.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import scipy.sparse as sp

__all__ = ["STORED", "NotStored", "answer", "digest", "if_stored", "load_values", "recording", "values_bytes"]

STORED = Path(__file__).with_name("_stored")
"""Where a student edition keeps the stored answers, one ``.npz`` file per check module."""

_recorder: list | None = None


class NotStored(Exception):
    """A student edition has no stored answer for these inputs (they depend on the student's own results)."""


def _feed(hasher, value) -> None:
    """Feed a canonical encoding of `value` to `hasher`: equal inputs give equal digests, in any process."""
    if sp.issparse(value):
        value = sp.csr_matrix(value, copy=True)  # a copy: the canonical form must not reorder the caller's matrix
        value.sum_duplicates()
        hasher.update(f"sparse{value.shape}".encode())
        for part in (value.data, value.indices, value.indptr):
            _feed(hasher, part)
    elif isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value, order="C")
        if array.dtype.hasobject:
            raise TypeError("an answer's input must be data, got an array of Python objects")
        hasher.update(f"array{array.dtype.str}{array.shape}".encode())
        hasher.update(array.tobytes())
    elif isinstance(value, tuple | list):
        hasher.update(f"{type(value).__name__}{len(value)}(".encode())
        for item in value:
            _feed(hasher, item)
        hasher.update(b")")
    elif isinstance(value, dict):
        hasher.update(f"dict{len(value)}(".encode())
        for key in sorted(value):
            _feed(hasher, key)
            _feed(hasher, value[key])
        hasher.update(b")")
    elif value is None or isinstance(value, bool | int | float | str):
        hasher.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise TypeError(f"an answer's input must be data (arrays, numbers, strings), got {type(value).__name__}")


def digest(name: str, args: tuple, kwargs: dict) -> str:
    """The key of one call of the marked function `name`: a SHA-256 of its name and inputs."""
    hasher = hashlib.sha256(name.encode())
    _feed(hasher, (list(args), kwargs))
    return hasher.hexdigest()


def _encode(value, arrays: list) -> object:
    """`value` as JSON, its arrays (by position in `arrays`) kept aside."""
    if isinstance(value, np.ndarray | np.generic):
        arrays.append(np.asarray(value))
        # A 0-d array and a NumPy scalar are stored alike: the tag tells which one to give back.
        return {"array" if isinstance(value, np.ndarray) else "scalar": len(arrays) - 1}
    if isinstance(value, tuple):
        return {"tuple": [_encode(item, arrays) for item in value]}
    if isinstance(value, list):
        return [_encode(item, arrays) for item in value]
    if isinstance(value, float):
        return {"float": repr(value)}  # exact, and JSON has no inf or nan
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"an answer must be data (arrays, numbers, strings, tuples, lists), got {type(value).__name__}")


def _decode(tree, arrays: dict) -> object:
    if isinstance(tree, list):
        return [_decode(item, arrays) for item in tree]
    if isinstance(tree, dict):
        if "array" in tree:
            return arrays[f"a{tree['array']}"]
        if "scalar" in tree:
            return arrays[f"a{tree['scalar']}"][()]
        if "tuple" in tree:
            return tuple(_decode(item, arrays) for item in tree["tuple"])
        return float(tree["float"])
    return tree


def values_bytes(values: dict[str, object]) -> bytes:
    """`values` (digest -> answer) as the bytes of an ``.npz`` file, byte for byte the same for the same values."""
    arrays: list[np.ndarray] = []
    index = {key: _encode(values[key], arrays) for key in sorted(values)}
    entries = {"index": np.array(json.dumps(index, sort_keys=True))}
    entries.update({f"a{position}": array for position, array in enumerate(arrays)})
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in entries.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array, order="C"), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buffer.getvalue(),
                             compress_type=zipfile.ZIP_DEFLATED)
    return output.getvalue()


def load_values(path: Path) -> dict[str, object]:
    """The answers stored at `path`, an ``.npz`` written from :func:`values_bytes` (never unpickled)."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    index = json.loads(str(arrays.pop("index")))
    return {key: _decode(tree, arrays) for key, tree in index.items()}


@functools.cache
def _stored(module: str) -> dict[str, object] | None:
    """The stored answers of the check module `module` (``latent_course.checks.mixtures``), None if there are none
    (the full course)."""
    path = STORED / f"{module.rsplit('.', 1)[-1]}.npz"
    return load_values(path) if path.is_file() else None


def answer(function: Callable) -> Callable:
    """Mark `function` as computing an answer from a case's inputs (arrays, numbers, strings); see the module."""
    name = f"{function.__module__}.{function.__qualname__}"

    @functools.wraps(function)
    def marked(*args, **kwargs):
        key = digest(name, args, kwargs)
        stored = _stored(function.__module__)
        if stored is not None:
            if key not in stored:
                raise NotStored(f"{function.__qualname__}: no stored answer for these inputs")
            return stored[key]
        value = function(*args, **kwargs)
        if _recorder is not None:
            _recorder.append((function.__module__, key, value))
        return value

    marked.__wrapped_answer__ = True
    return marked


@contextlib.contextmanager
def recording() -> Iterator[list]:
    """Collect ``(module, digest, value)`` for every call of a marked function inside the block."""
    global _recorder
    previous, _recorder = _recorder, []
    try:
        yield _recorder
    finally:
        _recorder = previous


@contextlib.contextmanager
def if_stored() -> Iterator[None]:
    """Skip the rest of the block where an answer it needs is not stored (a student edition, on inputs computed
    from the student's own results); in the full course the block always runs to its end."""
    with contextlib.suppress(NotStored):
        yield
