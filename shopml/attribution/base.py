"""Attribution results and the method registry.

A method is a function ``(journeys, seed=0, **options) -> Attribution`` registered with
:func:`register_method`; the benchmark, the CLI and the demo find methods by name.

An :class:`Attribution` holds, for every converted journey, its credit split over the
channels (rows sum to 1: one conversion each), the per-channel credit table (conversions
and conversion value credited per channel) and method-specific extras (removal effects,
Shapley values, a model's held-out AUC, ...).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopml.attribution.journeys import Journeys

MethodFn = Callable[..., "Attribution"]
_METHODS: dict[str, MethodFn] = {}
_OPTION_CHECKS: dict[str, Callable[[dict], object]] = {}
METHOD_ORDER = [
    "first_touch",
    "last_touch",
    "linear",
    "time_decay",
    "position_based",
    "markov",
    "shapley",
    "dnamta",
]


def register_method(
    name: str, check_options: Callable[[dict], object] | None = None
) -> Callable[[MethodFn], MethodFn]:
    """Register an attribution method under ``name`` (``check_options`` validates the options of
    a method that takes them as ``**options``; others are checked against their signature)."""

    def wrap(fn: MethodFn) -> MethodFn:
        _METHODS[name] = fn
        if check_options is not None:
            _OPTION_CHECKS[name] = check_options
        return fn

    return wrap


#: keywords a method takes about how it runs, not what it computes (never recorded as options)
RUN_OPTIONS = ("progress",)


def check_options(method: str, options: dict) -> None:
    """A clear ValueError for an option the method does not take or a value it cannot use,
    before anything runs."""
    fn = get_method(method)
    if method in _OPTION_CHECKS:
        _OPTION_CHECKS[method](options)
        return
    takes = [n for n in inspect.signature(fn).parameters if n not in ("journeys", "seed")]
    unknown = sorted(set(options) - set(takes))
    if unknown:
        raise ValueError(f"{method} has no option {unknown}; it takes {takes or 'none'}")


def _load_methods() -> None:
    import importlib
    import importlib.util

    for module in ("rules", "markov", "shapley", "dnamta"):
        name = f"shopml.attribution.{module}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def methods() -> list[str]:
    """Registered method names, the standard order first."""
    _load_methods()
    ordered = [m for m in METHOD_ORDER if m in _METHODS]
    return ordered + sorted(set(_METHODS) - set(ordered))


def get_method(name: str) -> MethodFn:
    """The method registered under ``name`` (clear error listing the known names)."""
    _load_methods()
    if name not in _METHODS:
        raise KeyError(f"unknown attribution method {name!r}; choose from {', '.join(methods())}")
    return _METHODS[name]


def attribute(journeys: Journeys, method: str, seed: int = 0, **options: object) -> Attribution:
    """Run one registered method on journeys (its options checked first, by name)."""
    check_options(method, {k: v for k, v in options.items() if k not in RUN_OPTIONS})
    return get_method(method)(journeys, seed=seed, **options)


@dataclass
class Attribution:
    """Credits of one method: per converted journey (rows sum to 1) and per channel."""

    method: str
    channels: list[str]
    journey_ids: np.ndarray  # the converted journeys, in order
    journey_credit: np.ndarray  # (n_converted, n_channels), rows sum to 1
    channel_conversions: np.ndarray  # (n_channels,) conversions credited per channel
    channel_value: np.ndarray  # (n_channels,) conversion value credited per channel
    extras: dict = field(default_factory=dict)

    def shares(self) -> pd.Series:
        """Each channel's share of the credited conversions (sums to 1)."""
        total = float(self.channel_conversions.sum())
        values = self.channel_conversions / total if total > 0 else self.channel_conversions
        return pd.Series(values, index=self.channels, name=self.method)

    def channel_table(self) -> pd.DataFrame:
        """The per-channel credit table: conversions, share, value."""
        return pd.DataFrame(
            {
                "conversions": self.channel_conversions,
                "share": self.shares().to_numpy(),
                "value": self.channel_value,
            },
            index=pd.Index(self.channels, name="channel"),
        )

    def journey_table(self) -> pd.DataFrame:
        """Per converted journey, its credit per channel (rows sum to 1)."""
        return pd.DataFrame(
            self.journey_credit,
            index=pd.Index(self.journey_ids, name="journey"),
            columns=self.channels,
        )


def from_journey_credit(
    method: str, journeys: Journeys, credit: np.ndarray, extras: dict | None = None
) -> Attribution:
    """An Attribution whose channel totals are the sums of its per-journey credits."""
    conv = np.flatnonzero(journeys.converted == 1)
    value = journeys.table["value"].to_numpy()[conv]
    return Attribution(
        method=method,
        channels=list(journeys.channels),
        journey_ids=conv,
        journey_credit=credit,
        channel_conversions=credit.sum(axis=0),
        channel_value=(credit * value[:, None]).sum(axis=0),
        extras=extras or {},
    )


def touch_credit_to_journeys(journeys: Journeys, weight: np.ndarray) -> np.ndarray:
    """Per converted journey × channel, the sum of its touches' credit weights, normalised
    so that each row sums to 1 (``weight`` is one number per touch)."""
    t = journeys.touches
    n_ch = len(journeys.channels)
    conv_rank = np.cumsum(journeys.converted == 1) - 1  # row of each converted journey
    j = t["journey"].to_numpy()
    keep = journeys.converted[j] == 1
    rows = conv_rank[j[keep]]
    n_conv = journeys.n_conversions
    flat = np.bincount(
        rows * n_ch + t["channel"].to_numpy()[keep], weights=weight[keep], minlength=n_conv * n_ch
    ).reshape(n_conv, n_ch)
    total = flat.sum(axis=1, keepdims=True)
    if np.any(total <= 0):
        bad = int(np.flatnonzero(total[:, 0] <= 0)[0])
        raise ValueError(f"converted journey {bad}: touch weights sum to {float(total[bad, 0])}")
    return flat / total


def attribution_error(shares: np.ndarray, truth: np.ndarray) -> float:
    """Total absolute error of channel credit shares against the true shares."""
    return float(np.abs(np.asarray(shares, float) - np.asarray(truth, float)).sum())
