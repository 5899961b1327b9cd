"""The rich consoles shopml prints through (a terminal's own width, 160 columns off one) and the
`wrote` / `note:` lines every command prints alike."""

from __future__ import annotations

import os
from collections.abc import Iterable

from rich.console import Console
from rich.markup import escape

#: Columns a console writes when its output is a file or pipe (rich would use 80): wide enough
#: for a leaderboard's method names and a card's path on one line in a run's log.
FILE_WIDTH = 160


def make_console(stderr: bool = False) -> Console:
    """A rich console: the terminal's width, or FILE_WIDTH columns off a terminal (unless COLUMNS is set)."""
    console = Console(stderr=stderr)
    if console.is_terminal or "COLUMNS" in os.environ:
        return console
    return Console(stderr=stderr, width=FILE_WIDTH)


def print_written(console: Console, paths: Iterable[object]) -> None:
    """'wrote PATH' for each path as it comes (printed as it is, never read as markup)."""
    for path in paths:
        console.print(f"wrote {escape(str(path))}", soft_wrap=True)


def print_notes(console: Console, notes: Iterable[object]) -> None:
    """'note: TEXT' for each note (printed as it is, never read as markup)."""
    for note in notes:
        console.print(f"note: {escape(str(note))}", soft_wrap=True)
