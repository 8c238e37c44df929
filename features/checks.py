"""Checks the config dataclasses run in ``__post_init__``: a bad value fails on construction, naming the flag.

Configs are built from the command line or a TOML file before any work starts,
so each check raises `ScreenstackError` with the option as the user types it
(``--folds``), the value, and what would be valid.
"""
from __future__ import annotations

import difflib
import math
from collections.abc import Iterable

from .errors import ScreenstackError

SEED_MAX = 2**32 - 1  # numpy's and scikit-learn's random_state range


def check_int(flag: str, value, low: int | None = None, high: int | None = None) -> None:
    """`value` is an int (not a bool, not a float) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScreenstackError(f"--{flag} {value!r}: expected an integer.")
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ScreenstackError(f"--{flag} {value}: expected an integer {span}.")


def comma_items(value: str, flag: str, shown: str | None = None) -> list[str]:
    """The stripped items of comma-separated option `value`; an empty one (a name deleted: ``a,,b``, ``title,``) is
    refused, naming `flag` and the value as `shown`: the run would go on with fewer than meant (``--text-cols title,``
    read no abstracts) and record the list as typed."""
    items = [v.strip() for v in value.split(",")]
    if "" in items:
        raise ScreenstackError(f"{flag} {value if shown is None else shown}: an empty item in the list. Name each one, "
                               "separated by single commas.")
    return items


def check_seed(value) -> None:
    check_int("seed", value, 0, SEED_MAX)


def check_positive_number(flag: str, value) -> None:
    """`value` is a finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScreenstackError(f"--{flag} {value!r}: expected a number.")
    if not (math.isfinite(value) and value > 0):
        raise ScreenstackError(f"--{flag} {value:g}: expected a finite number > 0.")  # 0, not 0.0, as typed


def check_number(flag: str, value, low: float, high: float) -> None:
    """`value` is a real number in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScreenstackError(f"--{flag} {value!r}: expected a number from {low:g} to {high:g}.")
    if not low <= value <= high:
        raise ScreenstackError(f"--{flag} {value:g}: expected a number from {low:g} to {high:g}.")


def closest(name: str, valid: Iterable[str]) -> str | None:
    """The one of `valid` that `name` most likely means (a case or a letter off: ``TFIDF-SVM``, ``judgment``), or None."""
    lowered = {str(v).lower(): str(v) for v in valid}  # a case off matches at 1.0, first
    match = difflib.get_close_matches(str(name).lower(), list(lowered), n=1, cutoff=0.8)
    return lowered[match[0]] if match else None


def did_you_mean(names: Iterable[str], valid: Iterable[str]) -> str:
    """" (did you mean tfidf-svm?)" for the first of `names` close to one of `valid`, else empty."""
    valid = list(valid)
    for name in names:
        if (match := closest(name, valid)) is not None:
            return f" (did you mean {match}?)"
    return ""


def check_choice(flag: str, value, valid: Iterable[str]) -> None:
    valid = list(valid)
    if value not in valid:
        raise ScreenstackError(f"--{flag} {value!r}: unknown{did_you_mean([value], valid)}; available: {', '.join(valid)}.")


def check_names(flag: str, names, valid: Iterable[str] | None = None, allow_empty: bool = False) -> None:
    """`names` is a tuple of distinct strings, each in `valid` when given."""
    if not isinstance(names, tuple) or not all(isinstance(n, str) and n for n in names):
        raise ScreenstackError(f"--{flag} {names!r}: expected comma-separated names.")
    if not names and not allow_empty:
        raise ScreenstackError(f"--{flag} is empty: give at least one name.")
    if len(set(names)) != len(names):
        raise ScreenstackError(f"--{flag} {','.join(names)}: a name is listed twice.")
    if valid is not None:
        valid = sorted(valid)
        unknown = [n for n in names if n not in valid]
        if unknown:
            raise ScreenstackError(f"--{flag} {','.join(unknown)}: unknown{did_you_mean(unknown, valid)}; available: "
                                   f"{', '.join(valid)}.")
