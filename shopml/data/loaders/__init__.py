"""Loaders for public datasets: ``shopml.data.load(name, path)``.

Each loader lives in a module of this package and registers itself with
:func:`register_loader`. It returns an :class:`~shopml.data.EventLog`, a
catalog (``pyarrow.Table`` with ``item_id``) or a documented table, tolerates
the quirks of its real file (encodings, BOMs, blank rows, pretty-printed
JSON) and rejects real problems with :class:`DatasetError`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class DatasetError(ValueError):
    """A dataset file is missing, unreadable or malformed (the message names file, row, column)."""


@dataclass(frozen=True)
class LoaderInfo:
    """A registered loader: its function, what it returns and its sample in ../shared/data."""

    name: str
    fn: Callable[..., Any]
    returns: str
    sample: str | None
    description: str
    columns: tuple[str, ...] = ()


_LOADERS: dict[str, LoaderInfo] = {}


def register_loader(
    name: str,
    returns: str,
    sample: str | None = None,
    description: str = "",
    columns: Sequence[str] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a loader; `returns` is 'eventlog', 'catalog' or 'table'; `sample` is a path
    relative to the shared data directory (None where no sample exists here); `columns` are
    the header columns its file must have (they name the loader when another one is given it)."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        doc = description or (fn.__doc__ or "")
        _LOADERS[name] = LoaderInfo(name, fn, returns, sample, doc, tuple(columns))
        return fn

    return wrap


def _import_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def loaders() -> dict[str, LoaderInfo]:
    """All registered loaders by name."""
    _import_all()
    return dict(_LOADERS)


def loaders_for_columns(found: Sequence[str]) -> list[str]:
    """Names of the loaders whose declared header columns are all among `found`."""
    _import_all()
    have = set(found)
    return [i.name for i in _LOADERS.values() if i.columns and have.issuperset(i.columns)]


def _info(name: str) -> LoaderInfo:
    """The registered loader `name`; DatasetError listing the known ones."""
    _import_all()
    if name not in _LOADERS:
        raise DatasetError(f"unknown dataset {name!r}; known: {', '.join(sorted(_LOADERS))}")
    return _LOADERS[name]


def sample_of(name: str) -> Path:
    """The path of dataset `name`'s sample under ../shared/data; DatasetError for an unknown
    name or a data set without a sample here (SampleDataMissingError if it is not on disk)."""
    info = _info(name)
    if info.sample is None:
        raise DatasetError(f"dataset {name!r} has no sample here; give the path of its file")
    from shopml.data.samples import sample_path

    return sample_path(info.sample)


def load(name: str, path: str | Path | None = None, **kwargs: Any) -> Any:
    """Load dataset `name` from a local `path` (default: its sample under ../shared/data)."""
    info = _info(name)
    path = Path(path) if path is not None else sample_of(name)
    if not path.exists():
        raise DatasetError(f"{name}: {path} does not exist")
    return info.fn(path, **kwargs)
