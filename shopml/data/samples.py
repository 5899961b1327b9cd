"""Where the real data samples live: ``../shared/data`` beside the project.

Set ``SHOPML_DATA_DIR`` to point elsewhere. The samples are never copied into
the repository (several are research-only licences).
"""

from __future__ import annotations

import os
from pathlib import Path

import shopml


class SampleDataMissingError(FileNotFoundError):
    """The shared data samples directory (or one file in it) is not there."""


def shared_data_dir() -> Path:
    """The directory of real data samples (``$SHOPML_DATA_DIR`` or ``../shared/data``)."""
    env = os.environ.get("SHOPML_DATA_DIR")
    if env:
        path = Path(env)
        if not path.is_dir():
            raise SampleDataMissingError(f"SHOPML_DATA_DIR={env} is not a directory")
        return path
    starts = [Path.cwd(), Path(shopml.__file__).resolve().parent]
    for start in starts:
        for parent in [start, *start.parents]:
            candidate = parent.parent / "shared" / "data"
            if candidate.is_dir():
                return candidate
    raise SampleDataMissingError(
        "cannot find the shared data samples: expected ../shared/data beside the project "
        "checkout, or set SHOPML_DATA_DIR"
    )


def sample_path(relative: str) -> Path:
    """Path of one sample file under the shared data directory; clear error if absent."""
    path = shared_data_dir() / relative
    if not path.exists():
        raise SampleDataMissingError(f"sample {relative!r} not found under {shared_data_dir()}")
    return path
