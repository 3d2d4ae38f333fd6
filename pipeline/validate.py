"""Argument checks shared by the pipeline, worded "`name` must be …, got …"."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def check_array(
    name: str,
    value: object,
    shape: tuple[int | None, ...],
    *,
    kind: str = "f",
) -> npt.NDArray[Any]:
    """Return `value` as an array after checking its shape and dtype kind.

    Args:
        name: the argument's name, used in the error message.
        value: the array to check.
        shape: expected shape; `None` matches any length on that axis.
        kind: numpy dtype kinds accepted ("f" float, "u" unsigned, "i" int...).

    Raises:
        TypeError: `value` is not a numpy array.
        ValueError: wrong number of dimensions, axis length or dtype kind.
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy array, got {type(value).__name__}")
    expected = "(" + ", ".join("_" if s is None else str(s) for s in shape) + ")"
    if value.ndim != len(shape) or any(
        s is not None and s != v for s, v in zip(shape, value.shape, strict=True)
    ):
        raise ValueError(f"`{name}` must have shape {expected}, got {value.shape}")
    if value.dtype.kind not in kind:
        raise ValueError(
            f"`{name}` must have dtype kind {kind!r} ({_KINDS.get(kind, kind)}), got {value.dtype}"
        )
    return value


def check_positive(name: str, value: float, unit: str = "") -> float:
    """Raise ValueError unless `value` > 0."""
    if not value > 0:
        raise ValueError(f"`{name}` must be > 0{' ' + unit if unit else ''}, got {value}")
    return value


def check_fraction(name: str, value: float) -> float:
    """Raise ValueError unless 0 <= `value` <= 1."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"`{name}` must be in [0, 1], got {value}")
    return value


_KINDS = {"f": "floating point", "u": "unsigned integer", "i": "integer", "b": "boolean"}
