"""Plain data as bytes, for the grader and the process that runs a submission: no ``pickle``, nothing that runs code.

A message is a JSON tree whose arrays are stored beside it in an ``.npz`` archive, read back with
``allow_pickle=False``. Only these kinds travel: ``None``, booleans, numbers, strings, tuples, lists, dicts with
string keys, NumPy arrays and scalars of numeric, boolean or string dtypes (masked arrays and ``np.matrix`` keep
their kind), SciPy sparse matrices and arrays, NumPy ``Generator`` states, and named tuples (the course's own,
:class:`~latent_course.mixtures.Mixture`, ..., come back as themselves). Anything else (an object array, a
function) raises :class:`WireError`; what :func:`decode` returns holds only base ``ndarray`` objects, whatever
the sender's types were (an ``ndarray`` subclass with its own operators arrives as a plain array).
"""

from __future__ import annotations

import collections
import io
import json
import math
import struct

import numpy as np
import scipy.sparse as sp

from ..mixtures import Mixture
from ..ratings import GroundTruth, Ratings

__all__ = ["WireError", "encode", "decode", "NAMED_TUPLES"]

NAMED_TUPLES = {cls.__name__: cls for cls in (Mixture, Ratings, GroundTruth)}
"""The named tuples that travel as themselves; any other travels as a new ``collections.namedtuple`` with the same
name and fields."""

DTYPE_KINDS = "biufcUS"
"""Booleans, integers, floats, complex numbers and strings."""
MAX_DEPTH = 20
HEADER = struct.Struct("<Q")


class WireError(ValueError):
    """A value that cannot travel as plain data."""


class _Writer:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, value: np.ndarray) -> str:
        value = np.asarray(value)
        if value.dtype.kind not in DTYPE_KINDS or value.dtype.fields is not None:
            raise WireError(f"an array of dtype {value.dtype} (only numbers, booleans and strings can be compared)")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.array(value, copy=True, subok=False)
        return key

    def tree(self, value, depth: int = 0):
        if depth > MAX_DEPTH:
            raise WireError(f"values nested more than {MAX_DEPTH} levels deep")
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int | float) and type(value) in (int, float):
            return value if not isinstance(value, float) or math.isfinite(value) else {"t": "float", "v": repr(value)}
        if isinstance(value, complex) and type(value) is complex:
            return {"t": "complex", "v": [value.real, value.imag]}
        if isinstance(value, np.generic):
            return {"t": "scalar", "a": self.array(np.asarray(value))}
        if isinstance(value, np.ndarray):
            node = {"t": "array", "a": self.array(value.view(np.ndarray) if type(value) is not np.ndarray else value)}
            if isinstance(value, np.ma.MaskedArray):
                node.update(t="masked", a=self.array(value.data), m=self.array(np.ma.getmaskarray(value)))
            elif isinstance(value, np.matrix):
                node["t"] = "matrix"
            return node
        if sp.issparse(value):
            form = value.format if value.format in ("csr", "csc", "coo") else "csr"
            converted = value.asformat(form)
            parts = ([converted.data, converted.row, converted.col] if form == "coo"
                     else [converted.data, converted.indices, converted.indptr])
            return {"t": "sparse", "f": form, "k": value.format, "array": isinstance(value, sp.sparray),
                    "s": [int(n) for n in value.shape], "p": [self.array(part) for part in parts]}
        if isinstance(value, np.random.Generator):
            return {"t": "generator", "state": value.bit_generator.state,
                    "calls": int(getattr(value, "draw_calls", 0))}
        if isinstance(value, tuple):
            items = [self.tree(item, depth + 1) for item in value]
            fields = getattr(type(value), "_fields", None)
            if isinstance(fields, tuple) and all(isinstance(name, str) for name in fields):
                return {"t": "named", "n": type(value).__name__, "f": list(fields), "v": items}
            return {"t": "tuple", "v": items}
        if isinstance(value, list):
            return {"t": "list", "v": [self.tree(item, depth + 1) for item in value]}
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise WireError("a dict with keys that are not strings")
            return {"t": "dict", "k": list(value), "v": [self.tree(item, depth + 1) for item in value.values()]}
        raise WireError(f"a value of type {type(value).__name__}")


def encode(value) -> bytes:
    """`value` as bytes: a JSON tree and an ``.npz`` archive of its arrays. Raises :class:`WireError`."""
    writer = _Writer()
    header = json.dumps(writer.tree(value), allow_nan=False).encode("utf-8")
    archive = io.BytesIO()
    np.savez(archive, **writer.arrays)
    return HEADER.pack(len(header)) + header + archive.getvalue()


class _Reader:
    def __init__(self, arrays):
        self.arrays = arrays

    def array(self, key) -> np.ndarray:
        if not isinstance(key, str) or key not in self.arrays.files:
            raise WireError(f"no array {key!r} in the message")
        array = self.arrays[key]
        if array.dtype.kind not in DTYPE_KINDS or array.dtype.fields is not None:
            raise WireError(f"an array of dtype {array.dtype}")
        return array

    def tree(self, node, depth: int = 0):
        if depth > MAX_DEPTH:
            raise WireError("values nested too deeply")
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list) or not isinstance(node, dict):
            raise WireError("a malformed message")
        kind = node.get("t")
        if kind == "float":
            return float(node["v"]) if node["v"] in ("nan", "inf", "-inf") else _bad(node)
        if kind == "complex":
            real, imaginary = node["v"]
            return complex(float(real), float(imaginary))
        if kind == "scalar":
            return self.array(node["a"])[()]
        if kind == "array":
            return self.array(node["a"])
        if kind == "matrix":
            return np.asmatrix(self.array(node["a"]))
        if kind == "masked":
            return np.ma.MaskedArray(self.array(node["a"]), mask=self.array(node["m"]))
        if kind == "sparse":
            return _sparse(node, [self.array(key) for key in node["p"]])
        if kind == "generator":
            generator = np.random.default_rng()
            generator.bit_generator.state = node["state"]
            return generator
        items = [self.tree(item, depth + 1) for item in node.get("v", [])]
        if kind == "tuple":
            return tuple(items)
        if kind == "named":
            return _named_tuple(str(node.get("n")), node.get("f"))(*items)
        if kind == "list":
            return items
        if kind == "dict" and all(isinstance(key, str) for key in node.get("k", [])):
            return dict(zip(node["k"], items, strict=True))
        return _bad(node)


def _named_tuple(name: str, fields) -> type:
    """The course's named tuple of that name and fields, or a new ``collections.namedtuple`` class like it."""
    known = NAMED_TUPLES.get(name)
    if known is not None and list(known._fields) == fields:
        return known
    try:
        return collections.namedtuple(name, fields)
    except (TypeError, ValueError) as error:
        raise WireError(f"a named tuple {name!r} with fields {fields!r} ({error})") from None


def _bad(node):
    raise WireError(f"a malformed message node {str(node)[:60]}")


def _sparse(node, parts):
    shape = tuple(int(n) for n in node["s"])
    form, original = node["f"], node["k"]
    kinds = {"csr": (sp.csr_array, sp.csr_matrix), "csc": (sp.csc_array, sp.csc_matrix),
             "coo": (sp.coo_array, sp.coo_matrix)}
    if form not in kinds or len(parts) != 3:
        _bad(node)
    cls = kinds[form][0 if node["array"] else 1]
    data, first, second = parts
    matrix = cls((data, (first, second)), shape=shape) if form == "coo" else cls((data, first, second), shape=shape)
    return matrix if original == form else matrix.asformat(original)


def decode(message: bytes):
    """The value that :func:`encode` turned into `message`; raises :class:`WireError` for anything else."""
    try:
        (length,) = HEADER.unpack_from(message)
        tree = json.loads(message[HEADER.size:HEADER.size + length].decode("utf-8"))
        with np.load(io.BytesIO(message[HEADER.size + length:]), allow_pickle=False) as arrays:
            return _Reader(arrays).tree(tree)
    except WireError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever a malformed message makes the readers raise
        raise WireError(f"a malformed message ({type(error).__name__}: {error})") from None
