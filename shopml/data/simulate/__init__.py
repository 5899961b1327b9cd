"""The marketplace simulator: generative worlds that know their ground truth.

Each preset is one module registering a generator with :func:`register_preset`.
A generator takes (n_clicks, seed) and returns a :class:`SimResult`: the event
log plus a separate truth table that no loader ever joins into features.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from shopml.data.eventlog import EventLog

PresetFn = Callable[[int, int], "SimResult"]
_PRESETS: dict[str, PresetFn] = {}
_FORMAT_WRITERS: dict[str, Callable[[SimResult, Path], list[Path]]] = {}


@dataclass
class SimResult:
    """A simulated event log, its truth table and the simulator's config."""

    log: EventLog
    truth: pa.Table
    config: dict = field(default_factory=dict)

    def write(self, out: str | Path) -> Path:
        """Write the event log and truth table to a directory."""
        self.log.spec.meta.setdefault("simulator", self.config)
        return self.log.write(out, truth=self.truth)


def register_preset(name: str) -> Callable[[PresetFn], PresetFn]:
    """Register a simulator preset under `name`."""

    def wrap(fn: PresetFn) -> PresetFn:
        _PRESETS[name] = fn
        return fn

    return wrap


def register_format(name: str) -> Callable:
    """Register a writer of an official file layout (e.g. cascade, trace, criteo)."""

    def wrap(fn: Callable[[SimResult, Path], list[Path]]) -> Callable:
        _FORMAT_WRITERS[name] = fn
        return fn

    return wrap


def _load_presets() -> None:
    # Import preset modules for their registration side effect.
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def presets() -> list[str]:
    """Names of the registered presets."""
    _load_presets()
    return sorted(_PRESETS)


def format_names() -> list[str]:
    """Names of the official file layouts the simulator can write."""
    _load_presets()
    return ["shopml", *sorted(_FORMAT_WRITERS)]


def simulate(preset: str, clicks: int, seed: int = 0, params: dict | None = None) -> SimResult:
    """Run a preset: `clicks` clicks (or units/users, per preset), deterministic for `seed`.

    `params` overrides a preset's documented constants (e.g. ``{"drift_sd": 0.7}`` for
    ``cascade``) for sensitivity studies; presets that take none reject it.
    """
    _load_presets()
    if preset not in _PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(_PRESETS)}")
    if isinstance(clicks, bool) or not isinstance(clicks, numbers.Integral):
        raise TypeError(f"clicks must be an integer, got {type(clicks).__name__} {clicks!r}")
    if clicks <= 0:
        raise ValueError(f"clicks must be positive, got {clicks}")
    if params is not None and not isinstance(params, dict):
        raise TypeError(f"params must be a dict of NAME: value, got {type(params).__name__}")
    if not params:
        return _PRESETS[preset](clicks, seed)
    import inspect

    if "params" not in inspect.signature(_PRESETS[preset]).parameters:
        raise ValueError(f"preset {preset!r} takes no parameters, got {sorted(params)}")
    return _PRESETS[preset](clicks, seed, params=params)


def parse_preset_params(items: Iterable[str], numbers_only: bool = False) -> dict[str, object]:
    """``["drift_sd=0.7", ...]`` -> ``{"drift_sd": 0.7}`` (values read as JSON; floats only and
    anything else an error if `numbers_only`), for `simulate`'s `params`."""
    params: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--preset-param must look like NAME=VALUE, got {item!r}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"--preset-param {key}: {raw!r} is not a number or JSON value"
            ) from exc
        if numbers_only:
            value = params[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"--preset-param {key}: {raw!r} is not a number")
            params[key] = float(value)
    return params


def write(result: SimResult, out: str | Path, fmt: str = "shopml") -> list[Path]:
    """Write a simulated world in the shopml layout or an official one."""
    _load_presets()
    out = Path(out)
    if fmt == "shopml":
        return [result.write(out)]
    if fmt not in _FORMAT_WRITERS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {format_names()}")
    out.mkdir(parents=True, exist_ok=True)
    return _FORMAT_WRITERS[fmt](result, out)
