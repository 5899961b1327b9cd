"""Progress bars that suit a terminal and a log file alike.

On a terminal (or in a notebook) :func:`progress_bar` is tqdm's bar, redrawn in place with
carriage returns. Off one (``shopml bench netcvr ... > run.log 2>&1``, nohup, CI) those
redraws would run into the result lines of the log, so it prints plain newline-terminated
lines instead: one every 30 seconds and one at the end. With ``silent_if_short=True`` the end
line is printed only after work that printed a line before, so a step shorter than 30 s (one
of many quick fits) leaves no line in the log.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

#: seconds between progress lines off a terminal
INTERVAL_S = 30.0


def _interactive(stream: IO[str]) -> bool:
    """Whether ``stream`` is a terminal, or this runs in a Jupyter kernel (tqdm's widget)."""
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        pass
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def progress_bar(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    initial: int = 0,
    leave: bool = True,
    disable: bool = False,
    file: IO[str] | None = None,
    interval: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    silent_if_short: bool = False,
) -> Any:
    """tqdm's bar on a terminal; off one, a :class:`LineProgress` printing plain lines."""
    stream = file if file is not None else sys.stderr
    if disable or _interactive(stream):
        from tqdm.auto import tqdm

        return tqdm(
            iterable, total=total, desc=desc, unit=unit, initial=initial, leave=leave,
            disable=disable, file=file,
        )  # fmt: skip
    if total is None and iterable is not None:  # as tqdm: the iterable's length, if it has one
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    return LineProgress(
        iterable, total=total, desc=desc, unit=unit, initial=initial, file=stream,
        interval=INTERVAL_S if interval is None else interval, clock=clock,
        silent_if_short=silent_if_short,
    )  # fmt: skip


def _duration(seconds: float) -> str:
    """0:42, 12:05 or 3:02:09."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LineProgress:
    """A progress report for log files: a plain line every ``interval`` seconds and at the
    end, never a carriage return. Offers the part of tqdm's interface shopml uses:
    iteration, ``update``, ``set_postfix``, ``close`` and ``with``."""

    def __init__(
        self,
        iterable: Iterable | None = None,
        *,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        initial: int = 0,
        file: IO[str] | None = None,
        interval: float = INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        silent_if_short: bool = False,
    ) -> None:
        self.iterable = iterable
        self.silent_if_short = silent_if_short
        self.printed = False
        self.total = total
        self.desc = desc
        self.unit = unit
        self.n = initial
        self.initial = initial
        self.file = file if file is not None else sys.stderr
        self.interval = interval
        self.clock = clock
        self.start = clock()
        self.last_print = self.start
        self.postfix = ""
        self.closed = False
        self._printed_state: tuple[int, str] | None = None  # (count, postfix) of the last line

    def __iter__(self) -> Iterator:
        if self.iterable is None:
            raise TypeError("this progress report wraps no iterable; call update() instead")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units; print a line when ``interval`` seconds passed since the last."""
        self.n += n
        now = self.clock()
        if now - self.last_print >= self.interval:
            self._print(now)

    def set_postfix(self, **values: object) -> None:
        """Values shown at the end of the next line (``val_loss=0.123``)."""
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        """Print the final line (once; if ``silent_if_short``, only after an earlier line)."""
        if self.closed:
            return
        self.closed = True
        if self._printed_state == (self.n, self.postfix):  # the last line already says it
            return
        if not self.silent_if_short or self.printed:
            self._print(self.clock())

    def line(self, now: float) -> str:
        """The progress line at clock time ``now``."""
        elapsed = now - self.start
        done = self.n - self.initial
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            text = f"{head}{self.n:,}/{self.total:,} {self.unit} ({100 * self.n / self.total:.0f}%)"
        else:
            text = f"{head}{self.n:,} {self.unit}"
        text += f", {_duration(elapsed)} elapsed"
        if self.total and done > 0 and self.n < self.total and elapsed > 0:
            text += f", ~{_duration((self.total - self.n) * elapsed / done)} left"
        return text + (f" [{self.postfix}]" if self.postfix else "")

    def _print(self, now: float) -> None:
        self.last_print, self.printed = now, True
        self._printed_state = (self.n, self.postfix)
        self.file.write(self.line(now) + "\n")
        self.file.flush()
