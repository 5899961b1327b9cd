"""Checks of a stream method's option values, run when the method is built (before any data).

A method declares the options it reads as ``option_checks = {name: check}``; a check takes the
value and raises ``ValueError`` saying what it must be. ``StreamMethod.__init__`` runs them, so
``--option esdfm.weights_from=modle`` is refused before a world is simulated rather than
after it, and ``--option fnw.refund_debias=yes`` is refused instead of being read as true.
"""

from __future__ import annotations

from collections.abc import Callable

OptionCheck = Callable[[object], None]


def flag(value: object) -> None:
    """A true / false option."""
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")


def integer(minimum: int) -> OptionCheck:
    """A whole number of at least ``minimum``."""

    def check(value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"must be a whole number >= {minimum}, got {value!r}")

    return check


def positive(value: object) -> None:
    """A number above 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"must be a number > 0, got {value!r}")


def non_negative(value: object) -> None:
    """A number of at least 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"must be a number >= 0, got {value!r}")


def choice(*allowed: str) -> OptionCheck:
    """One of the ``allowed`` words."""

    def check(value: object) -> None:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(map(repr, allowed))}, got {value!r}")

    return check


def checked_by_method(value: object) -> None:
    """An option whose value the method checks itself when built (TESLA's and ECAD's typed
    options, validated by their pydantic models)."""
