"""Rule-based multi-touch attribution: first touch, last touch, linear, time decay, position based.

The heuristics every analytics suite ships (e.g. the Google Analytics attribution models;
surveyed in Li & Kannan, "Attributing conversions in a multichannel online marketing
environment", Journal of Marketing Research 2014, and in Kannan, Reinartz & Verhoef, "The
path to purchase and attribution modeling", IJRM 2016). Each converted journey's one
conversion is split over its touches by a fixed weight, then summed per channel:

* ``first_touch``: weight 1 on the first touch.
* ``last_touch``: weight 1 on the last touch before the conversion.
* ``linear``: weight 1/n on each of the n touches.
* ``time_decay``: weight ∝ 2^(−Δt / half_life), Δt = time from the touch to the conversion
  (half-life 7 days by default, as in Google Analytics).
* ``position_based`` (U-shaped): 40 % to the first touch, 40 % to the last, the remaining
  20 % split equally over the touches in between; a one-touch journey gives 100 % to its
  touch, a two-touch journey 50 % / 50 %.

All weights are column operations on the touches table (no loop over journeys).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from shopml.attribution.base import (
    Attribution,
    from_journey_credit,
    register_method,
    touch_credit_to_journeys,
)
from shopml.attribution.journeys import Journeys

DAY = 86_400.0


def _is_number(value: object) -> bool:
    """Whether ``value`` is a finite real number (not a bool, a string or NaN)."""
    return (
        isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    )


def _rule(
    name: str, journeys: Journeys, weight: np.ndarray, extras: dict | None = None
) -> Attribution:
    credit = touch_credit_to_journeys(journeys, weight.astype(np.float64))
    return from_journey_credit(name, journeys, credit, extras)


@register_method("first_touch")
def first_touch(journeys: Journeys, seed: int = 0) -> Attribution:
    """All credit to each converted journey's first touch."""
    return _rule("first_touch", journeys, (journeys.touches["position"] == 0).to_numpy())


@register_method("last_touch")
def last_touch(journeys: Journeys, seed: int = 0) -> Attribution:
    """All credit to each converted journey's last touch."""
    t = journeys.touches
    return _rule("last_touch", journeys, (t["position"] == t["length"] - 1).to_numpy())


@register_method("linear")
def linear(journeys: Journeys, seed: int = 0) -> Attribution:
    """Equal credit to every touch of a converted journey."""
    return _rule("linear", journeys, 1.0 / journeys.touches["length"].to_numpy())


@register_method("time_decay")
def time_decay(journeys: Journeys, seed: int = 0, half_life_days: float = 7.0) -> Attribution:
    """Credit ∝ 2^(−Δt/half-life), Δt = time from the touch to the conversion."""
    if not (_is_number(half_life_days) and half_life_days > 0):
        raise ValueError(
            f"time_decay: half_life_days must be a positive number, got {half_life_days!r}"
        )
    t = journeys.touches
    # Measured from each journey's latest touch, so a short half-life cannot underflow every
    # weight to 0; the journey's weights are normalised, so the shift changes nothing else.
    nearest = t.groupby("journey")["to_end_s"].transform("min").to_numpy()
    dt = (t["to_end_s"].to_numpy() - nearest) / DAY
    weight = np.exp2(-dt / half_life_days)
    return _rule("time_decay", journeys, weight, {"half_life_days": half_life_days})


@register_method("position_based")
def position_based(
    journeys: Journeys, seed: int = 0, first: float = 0.4, last: float = 0.4
) -> Attribution:
    """U-shaped: ``first`` to the first touch, ``last`` to the last, the rest split over the middle."""
    if not (_is_number(first) and _is_number(last) and first >= 0 and last >= 0
            and first + last <= 1):  # fmt: skip
        raise ValueError(
            f"position_based: need numbers first, last >= 0 and first + last <= 1, got "
            f"{first!r}, {last!r}"
        )
    t = journeys.touches
    pos = t["position"].to_numpy()
    n = t["length"].to_numpy()
    is_first, is_last = pos == 0, pos == n - 1
    middle = np.maximum(n - 2, 1)
    weight = np.where(is_first, first, 0.0) + np.where(is_last, last, 0.0)
    weight = np.where(~is_first & ~is_last, (1.0 - first - last) / middle, weight)
    # two touches: the middle share is split between them in proportion (50/50 by default)
    two = n == 2
    split = np.where(is_first, first, last) / (first + last) if first + last > 0 else 0.5
    weight = np.where(two, split, weight)
    weight = np.where(n == 1, 1.0, weight)
    return _rule("position_based", journeys, weight, {"first": first, "last": last})
