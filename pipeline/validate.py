"""Argument checks shared by the pipeline, worded "`name` must be …, got …", and the
command-line number types both CLIs use (`number`: finite, in range, checked once here)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any, NoReturn

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
    """Raise ValueError unless `value` > 0 (NaN is not)."""
    if not value > 0 or math.isinf(value):
        raise ValueError(f"`{name}` must be > 0{' ' + unit if unit else ''}, got {value}")
    return value


def check_fraction(name: str, value: float) -> float:
    """Raise ValueError unless 0 <= `value` <= 1."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"`{name}` must be in [0, 1], got {value}")
    return value


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are one line, "error: argument --jobs: must be >= 1, got 0;
    see PROG --help", exit code 2 (both CLIs; subcommands inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {' '.join(message.split())}; see {self.prog} --help\n")


def number(
    kind: type[int] | type[float] = float,
    *,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
) -> Callable[[str], Any]:
    """An argparse `type=` for a finite int or float in a range, for both CLIs.

    NaN, infinities and out-of-range values give argparse's one error line naming the
    option, e.g. "argument --jobs: must be >= 1, got 0".
    """

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if above is not None and not value > above:
            raise argparse.ArgumentTypeError(f"must be > {_shown(above)}, got {text}")
        if at_least is not None and not value >= at_least:
            raise argparse.ArgumentTypeError(f"must be >= {_shown(at_least)}, got {text}")
        if at_most is not None and not value <= at_most:
            raise argparse.ArgumentTypeError(f"must be <= {_shown(at_most)}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _shown(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


_KINDS = {"f": "floating point", "u": "unsigned integer", "i": "integer", "b": "boolean"}
