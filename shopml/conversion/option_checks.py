"""Checks of a stream method's option values, run when the method is built (before any data).

A method declares the options it reads as ``option_checks = {name: check}``; a check takes the
value and raises ``ValueError`` saying what it must be. ``StreamMethod.__init__`` runs them, so
``--option esdfm.weights_from=modle`` is refused before a world is simulated rather than
after it, and ``--option fnw.refund_debias=yes`` is refused instead of being read as true.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

OptionCheck = Callable[[object], None]
ModelT = TypeVar("ModelT", bound=BaseModel)


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


def typed_options(model: type[ModelT], label: str, options: dict[str, object]) -> ModelT:
    """A method's typed options model built from ``options``; a bad value is a ValueError in
    the words of the other checks (``tesla option structure must be one of ..., got 'x'``)."""
    try:
        return model(**options)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(map(str, error["loc"]))
            message = str(error["msg"]).removeprefix("Value error, ")
            if where:
                message = f"option {where}: {message[:1].lower()}{message[1:]}, got {error['input']!r}"
            problems.append(f"{label} {message}")
        raise ValueError("; ".join(problems)) from None


def checked_by_method(value: object) -> None:
    """An option whose value the method checks itself when built (TESLA's and ECAD's typed
    options, validated by their pydantic models)."""
