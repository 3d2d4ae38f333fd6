"""Tests for pipeline/validate.py: the CLI number types (issue #11, item 9)."""

from __future__ import annotations

import argparse

import pytest

from pipeline.validate import check_positive, number


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "1e999", "abc", ""])
def test_number_refuses_what_is_not_a_finite_number(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="must be"):
        number(float, at_least=0)(text)


@pytest.mark.parametrize(
    "kind, bounds, text, ok",
    [
        (int, {"at_least": 1}, "0", False),
        (int, {"at_least": 1}, "-5", False),
        (int, {"at_least": 1}, "1", True),
        (int, {"at_least": 0, "at_most": 2**31 - 1}, "2147483648", False),
        (int, {"at_least": 0}, "1.5", False),
        (float, {"above": 0}, "0", False),
        (float, {"above": 0}, "-1", False),
        (float, {"above": 0}, "1e-3", True),
        (float, {"at_least": 0, "at_most": 1}, "1.01", False),
    ],
)
def test_number_ranges(kind, bounds, text, ok) -> None:
    parse = number(kind, **bounds)
    if ok:
        assert parse(text) == kind(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)


def test_number_gives_one_argparse_line_naming_the_option(capsys) -> None:
    p = argparse.ArgumentParser(prog="x")
    p.add_argument("--jobs", type=number(int, at_least=1))
    with pytest.raises(SystemExit) as e:
        p.parse_args(["--jobs", "0"])
    assert e.value.code == 2
    assert (
        capsys.readouterr().err.splitlines()[-1] == "x: error: argument --jobs: must be >= 1, got 0"
    )


def test_check_positive_refuses_nan_and_inf() -> None:
    for value in (float("nan"), float("inf"), 0.0):
        with pytest.raises(ValueError):
            check_positive("unit_m", value)


def test_the_parser_errors_are_one_line(capsys) -> None:
    from pipeline.validate import ArgumentParser

    p = ArgumentParser(prog="x")
    sub = p.add_subparsers(dest="cmd")
    sub.add_parser("go").add_argument("--rate", type=number(float, above=0))
    for argv in (["go", "--rate", "nan"], ["--nope"], ["go", "--rate"]):
        with pytest.raises(SystemExit) as e:
            p.parse_args(argv)
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and err.startswith("error: "), err
