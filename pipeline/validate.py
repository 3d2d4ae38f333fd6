"""Argument checks shared by the pipeline, worded "`name` must be …, got …", and the
command-line number types both CLIs use (`number`: finite, in range, checked once here)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, NoReturn

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


# What each number option may physically be, one range per kind, for all three CLIs (the
# `ArgumentParser` below applies it by option name, so `--seed` is bounded wherever it is
# read): beyond these, a value only overflows, runs out of memory or fails in a library's
# words later (issue #19). (low, high), both included.
SECONDS_BETWEEN_WINDOWS: Final = (0.001, 3600.0)  # a window per millisecond .. per hour
WINDOW_SECONDS: Final = (0.05, 600.0)  # one movement: a blink .. ten minutes
MAX_WINDOW_FRAMES: Final = 999  # instants a window is resampled to (train.py --frames)
FRAMES_PER_SECOND: Final = (0.1, 10_000.0)  # as BVH's Frame Time (offline.mocap.bvh)
SEED: Final = (0, 2**32 - 1)  # numpy's and scikit-learn's seeds
FRAME_NUMBERS: Final = (0, 10**8)  # a frame's index: about five weeks at 30 fps
OPTION_LIMITS: Final[dict[str, tuple[float, float]]] = {
    "--stride-s": SECONDS_BETWEEN_WINDOWS,
    "--window-s": WINDOW_SECONDS,
    "--window-grid": WINDOW_SECONDS,
    "--rate": FRAMES_PER_SECOND,
    "--seed": SEED,
    "--projection": (0, 1_000),  # directions removed; features are fewer
    "--repeats": (0, 10_000),
    # clustering needs more windows than its largest cluster count
    # (max(offline.training.clustering.CLUSTER_COUNTS) + 1); O(n^2) memory above 100 000
    "--cluster-samples": (8, 100_000),
    "--jobs": (1, 1_024),
    "--views": (-360.0, 360.0),  # degrees of camera yaw
    "--render-views": (-360.0, 360.0),
    "--view": (-360.0, 360.0),
    "--distance": (0.1, 1_000.0),  # metres from camera to the figure
    "--unit-m": (1e-6, 1_000.0),  # metres per BVH unit: micrometres .. kilometres
    "--world-jitter": (0.0, 10.0),  # metres of noise
    "--max-people": (1, 100),  # people PoseLandmarker looks for in one frame
    "--smoothing-k": (1, 100_000),  # classifications averaged: about an hour at 30 fps
    "--smoothing-s": (0.001, 86_400.0),
    "--duration": (0.001, 366 * 86_400.0),  # seconds: up to a year
    "--camera-retry-s": (0.0, 86_400.0),
    "--max-frames": (1, 10**9),
    "--max-side": (0, 65_535),  # pixels: OpenCV's largest image side
    "--pose-max-side": (0, 65_535),
}


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are one line, "error: argument --jobs: must be >= 1, got 0;
    see PROG --help", exit code 2 (both CLIs; subcommands inherit it).

    A value of an option named in `OPTION_LIMITS` must also lie in that range ("argument
    --seed: must be 0 to 4294967295, got 1099511627776"), whatever type the option has.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {' '.join(message.split())}; see {self.prog} --help\n")

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        value = super()._get_value(action, arg_string)
        if (problem := outside_limits(action.option_strings, value)) is not None:
            raise argparse.ArgumentError(action, problem)
        return value


def outside_limits(option_strings: Sequence[str], value: object) -> str | None:
    """What is wrong when `value` lies outside the range `OPTION_LIMITS` gives any of
    `option_strings` ("must be 0 to 4294967295, got ..."), else None (non-numbers too)."""
    limits = next((OPTION_LIMITS[o] for o in option_strings if o in OPTION_LIMITS), None)
    if limits is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    low, high = limits
    if low <= value <= high:
        return None
    return f"must be {_shown(low)} to {_shown(high)}, got {value}"


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


def check_distinct_names(
    name: str, values: Iterable[Any], named: Callable[[Any], str], what: str = "name"
) -> None:
    """Raise ValueError when two of `values` get the same `named(value)` (e.g. camera yaws
    35 and 35.0000001 both rendered to `*_view35.mp4`): one would overwrite the other."""
    seen: dict[str, Any] = {}
    for value in values:
        key = named(value)
        if key in seen:
            raise ValueError(
                f"`{name}` {seen[key]} and {value} get the same {what} {key!r}: one would "
                f"overwrite the other; give values that differ at {what}'s precision"
            )
        seen[key] = value
