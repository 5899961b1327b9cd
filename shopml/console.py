"""The rich consoles shopml prints through: a terminal's own width, 160 columns off one."""

from __future__ import annotations

import os

from rich.console import Console

#: Columns a console writes when its output is a file or pipe (rich would use 80): wide enough
#: for a leaderboard's method names and a card's path on one line in a run's log.
FILE_WIDTH = 160


def make_console(stderr: bool = False) -> Console:
    """A rich console: the terminal's width, or FILE_WIDTH columns off a terminal (unless COLUMNS is set)."""
    console = Console(stderr=stderr)
    if console.is_terminal or "COLUMNS" in os.environ:
        return console
    return Console(stderr=stderr, width=FILE_WIDTH)
