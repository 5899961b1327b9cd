"""Paired comparisons of two methods over the result cards (``shopml compare``).

Two methods scored on the same seeds share each seed's data and split, so the per-seed
difference of a metric is far less noisy than the two methods' means ± std set side by side.
For every data set (name, size and variant, as on the results pages) this pairs the cards'
entries of ``method`` and ``reference`` on the same seed and random state, and reports the
mean difference, its std, its standard error (over seeds) and on how many pairs ``method``
is lower.

Cards of runs from other initialisations (``-rsN`` variants of ``shopml bench uplift``) join
the group of their data set: each (seed, random state) is one pair, so the spread over
initialisations counts alongside the spread over worlds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shopml.report.cards import read_cards
from shopml.report.pages import dataset_key


@dataclass
class PairedDifference:
    """``method`` minus ``reference`` on one data set, over the pairs both were scored on."""

    dataset: str
    pairs: list[tuple[int, int]]  # (seed, random state)
    method_values: np.ndarray
    reference_values: np.ndarray

    @property
    def differences(self) -> np.ndarray:
        """Per-pair ``method - reference``."""
        return self.method_values - self.reference_values

    @property
    def lower(self) -> int:
        """On how many pairs ``method`` scored below ``reference``."""
        return int((self.differences < 0).sum())

    @property
    def seeds(self) -> list[int]:
        """The seeds (worlds and splits) among the pairs."""
        return sorted({seed for seed, _ in self.pairs})

    def summary(self) -> dict[str, float]:
        """Mean of each method, mean difference and its std over the pairs (ddof 1), and the
        standard error of the mean difference with the seed as the unit: pairs from other
        initialisations on one seed share its world and split, so they are averaged first."""
        diff = self.differences
        std = float(diff.std(ddof=1)) if diff.size > 1 else float("nan")
        seed_of_pair = np.array([seed for seed, _ in self.pairs])
        by_seed = np.array([diff[seed_of_pair == seed].mean() for seed in self.seeds])
        se = by_seed.std(ddof=1) / np.sqrt(by_seed.size) if by_seed.size > 1 else float("nan")
        return {
            "method": float(self.method_values.mean()),
            "reference": float(self.reference_values.mean()),
            "difference": float(diff.mean()),
            "std": std,
            "standard_error": float(se),
        }


def _metric_of(card: dict, method: str, metric: str) -> float | None:
    for entry in card["results"]:
        if entry["method"] == method:
            value = entry["metrics"].get(metric)
            return None if value is None else float(value)
    return None


def paired_differences(
    cards: list[dict], method: str, reference: str, metric: str
) -> list[PairedDifference]:
    """One PairedDifference per data set on which both methods report ``metric``."""
    found: dict[str, dict[tuple[int, int], tuple[float, float]]] = defaultdict(dict)
    for card in cards:
        ours, theirs = (_metric_of(card, name, metric) for name in (method, reference))
        if ours is None or theirs is None:
            continue
        state = int(card.get("config", {}).get("random_state", 0))
        dataset = dataset_key(card).replace(f"-rs{state}]", "]") if state else dataset_key(card)
        pair = (int(card.get("seed") or 0), state)
        if pair in found[dataset]:
            raise ValueError(
                f"two cards of {dataset!r} for seed {pair[0]}, random state {pair[1]}: "
                f"{Path(card['_path']).name} and an earlier one; remove the stale card"
            )
        found[dataset][pair] = (ours, theirs)
    out = []
    for dataset, by_pair in found.items():
        pairs = sorted(by_pair)
        values = np.array([by_pair[p] for p in pairs], dtype=float)
        out.append(PairedDifference(dataset, pairs, values[:, 0], values[:, 1]))
    return out


def compare_cards(
    directory: str | Path, benchmark: str, method: str, reference: str, metric: str
) -> list[PairedDifference]:
    """Paired differences of ``method`` against ``reference`` in one benchmark's cards."""
    cards = read_cards(benchmark, directory)
    if not cards:
        raise ValueError(f"no cards of benchmark {benchmark!r} in {directory}")
    found = paired_differences(cards, method, reference, metric)
    if not found:
        _explain_no_pair(cards, benchmark, method, reference, metric)
    return found


def _explain_no_pair(
    cards: list[dict], benchmark: str, method: str, reference: str, metric: str
) -> None:
    """ValueError naming what the cards lack: a method, a metric, or a card with both."""
    metrics: dict[str, set[str]] = defaultdict(set)
    for card in cards:
        for entry in card["results"]:
            metrics[entry["method"]].update(entry["metrics"])
    for name in (method, reference):
        if name not in metrics:
            raise ValueError(
                f"no {benchmark} card has a method named {name!r}; "
                f"methods in them: {', '.join(sorted(metrics))}"
            )
    for name in (method, reference):
        if metric not in metrics[name]:
            raise ValueError(
                f"no {benchmark} card reports {metric!r} for {name}; "
                f"its metrics: {', '.join(sorted(metrics[name]))}"
            )
    raise ValueError(f"no {benchmark} card has {metric!r} for both {method} and {reference}")
