"""Uplift data bundles from any event log: features, treatment arms, chain labels, truth.

One path for every source: an :class:`~shopml.data.eventlog.EventLog` with a ``treatment``
column (Hillstrom and Criteo uplift through their loaders, the simulator's ``uplift``
preset, or a user's own log) becomes an :class:`UpliftData`: a float feature matrix
(categorical fields one-hot, numeric fields as given), integer arm codes (0 = control), one
binary label per chain stage (``impression`` is the ``exposure`` column, any other stage is
"has at least one event of that kind"), and — for simulated data — the true per-unit effect
of every arm at every stage.

One-hot columns: a categorical feature gets a column per category present in the log (a blank
value is the category ``<missing>``), so two files of another source can give different
columns - keep ``UpliftData.X`` as a DataFrame (scikit-learn then checks the column names
between fit and predict) rather than ``.to_numpy()``. Hillstrom files are encoded on the data
set's documented categories (:data:`HILLSTROM_FEATURE_CATEGORIES`): every Hillstrom-layout file
gives the same 21 columns in the same order, a category the file lacks is a column of zeros, a
blank value is zeros in that feature's columns, a value outside the list is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from shopml.data.eventlog import NO_EVENT, EventLog
from shopml.data.loaders.uplift import (
    HILLSTROM_CATEGORIES,
    HILLSTROM_FLAG_FEATURES,
    MISSING_CATEGORY,
)
from shopml.uplift.base import UpliftInputError

#: chain stages per source
HILLSTROM_STAGES = ("visit", "conversion")
CRITEO_STAGES = ("visit", "conversion")
SIMULATOR_STAGES = ("impression", "click", "conversion")
#: Hillstrom arm codes in the loader: 0 No E-Mail, 1 Mens E-Mail, 2 Womens E-Mail
HILLSTROM_WOMENS = 2
#: every Hillstrom file is one-hot encoded on the data set's documented categories
HILLSTROM_FEATURE_CATEGORIES = {
    **HILLSTROM_CATEGORIES, **{flag: ["0", "1"] for flag in HILLSTROM_FLAG_FEATURES}
}


@dataclass
class UpliftData:
    """Features, arms, chain labels (and true effects where known) of one uplift data set."""

    name: str
    X: pd.DataFrame
    treatment: np.ndarray
    labels: dict[str, np.ndarray]
    stages: tuple[str, ...]
    arm_names: dict[int, str]
    truth: dict[str, np.ndarray] | None = None  # stage -> (n, arms) true uplift
    meta: dict = field(default_factory=dict)
    true_control: dict[str, np.ndarray] | None = None  # stage -> (n,) true control probability

    @property
    def arms(self) -> list[int]:
        """Treatment arm codes (control excluded)."""
        return sorted(int(a) for a in np.unique(self.treatment) if a != 0)

    def chain(self, stages: tuple[str, ...] | None = None) -> np.ndarray:
        """(n, S) label matrix of the given stages (default all), in chain order."""
        return np.column_stack([self.labels[s] for s in (stages or self.stages)]).astype(float)

    def rows(self, index: np.ndarray) -> UpliftData:
        """The subset of rows `index`."""
        def subset(arrays: dict[str, np.ndarray] | None) -> dict[str, np.ndarray] | None:
            return None if arrays is None else {k: v[index] for k, v in arrays.items()}

        return UpliftData(
            self.name, self.X.iloc[index].reset_index(drop=True), self.treatment[index],
            subset(self.labels), self.stages, self.arm_names, subset(self.truth),
            dict(self.meta), subset(self.true_control),
        )  # fmt: skip

    def select_arm(self, arm: int) -> UpliftData:
        """Only control and `arm`, recoded 0 / 1 (binary uplift)."""
        if arm not in self.arms:
            raise UpliftInputError(f"{self.name}: arm {arm} not in the data (arms {self.arms})")
        keep = np.flatnonzero((self.treatment == 0) | (self.treatment == arm))
        sub = self.rows(keep)
        sub.treatment = (sub.treatment == arm).astype(np.int64)
        column = self.arms.index(arm)
        if sub.truth is not None:
            sub.truth = {k: v[:, [column]] for k, v in sub.truth.items()}
        sub.arm_names = {0: self.arm_names.get(0, "control"), 1: self.arm_names.get(arm, str(arm))}
        sub.name = f"{self.name}:{sub.arm_names[1]}"
        return sub


def _one_hot(
    values: np.ndarray, feature: str, name: str, categories: list[str] | None
) -> pd.DataFrame:
    """One column per category of a feature: the fixed ``categories`` when given (a blank value
    is all zeros, an unknown one an error), else the categories present (blank: ``<missing>``)."""
    text = pd.Series(values).astype("string").str.strip()
    text = text.mask(text.isna() | (text == ""), MISSING_CATEGORY)
    if categories is None:
        return pd.get_dummies(pd.Categorical(text.to_numpy()), prefix=feature, dtype=np.float64)
    unknown = ~(text.isin(categories) | (text == MISSING_CATEGORY)).to_numpy()
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise UpliftInputError(
            f"{name}: feature {feature!r}, row {row}: {text.iloc[row]!r} is not one of its "
            f"categories {categories} ({int(unknown.sum())} such row(s))"
        )
    codes = pd.Categorical(text.to_numpy(), categories=categories)
    return pd.get_dummies(codes, prefix=feature, dtype=np.float64)


def from_eventlog(
    log: EventLog,
    stages: tuple[str, ...],
    name: str,
    truth: pd.DataFrame | None = None,
    categories: dict[str, list[str]] | None = None,
) -> UpliftData:
    """Features, treatment, stage labels (and, from the truth's columns ``tau_<stage>_arm<a>``
    and ``p_<stage>_arm0``, the true effects and control probabilities) of a log;
    ``categories``: fixed one-hot categories of some categorical features."""
    if "treatment" not in log.clicks.column_names:
        raise UpliftInputError(f"{name}: clicks has no 'treatment' column; not an uplift log")
    treatment = log.column("treatment").astype(np.int64)
    parts = []
    for feature in log.spec.features:
        values = log.column(feature.name)
        if feature.kind == "numeric":
            parts.append(pd.DataFrame({feature.name: values.astype(np.float64)}))
        elif feature.kind == "categorical":
            fixed = (categories or {}).get(feature.name)
            parts.append(_one_hot(values, feature.name, name, fixed))
    if not parts:
        raise UpliftInputError(f"{name}: the log declares no numeric or categorical features")
    X = pd.concat(parts, axis=1)
    labels = {}
    for stage in stages:
        if stage == "impression":
            labels[stage] = log.column("exposure").astype(np.int64)
        else:
            labels[stage] = (log.first_event_ts(stage) != NO_EVENT).astype(np.int64)
    arm_meta = log.spec.meta.get("arms") or log.spec.meta.get("treatment_arms") or {}
    arm_names = {int(k): str(v) for k, v in arm_meta.items()}
    true_effects = true_control = None
    if truth is not None:
        arms = sorted(int(a) for a in np.unique(treatment) if a != 0)
        ids = log.column("click_id")
        truth = truth.set_index("click_id").loc[ids]
        true_effects = {
            s: np.column_stack([truth[f"tau_{s}_arm{a}"].to_numpy() for a in arms])
            for s in stages
            if all(f"tau_{s}_arm{a}" in truth.columns for a in arms)
        }
        true_control = {
            s: truth[f"p_{s}_arm0"].to_numpy() for s in stages if f"p_{s}_arm0" in truth.columns
        }
    report = log.spec.meta.get("load_report")
    return UpliftData(
        name, X, treatment, labels, tuple(stages), arm_names, true_effects,
        meta={"load_report": report} if report else {}, true_control=true_control,
    )  # fmt: skip


def hillstrom_data(path: str | Path | None = None, arms: str = "womens") -> UpliftData:
    """Hillstrom (visit → conversion): ``arms="womens"`` Womens E-Mail vs No E-Mail, ``"all"``."""
    from shopml.data import load

    if arms not in ("womens", "all"):
        raise UpliftInputError(f"arms must be 'womens' or 'all', got {arms!r}")
    data = from_eventlog(
        load("hillstrom", path), HILLSTROM_STAGES, "hillstrom", categories=HILLSTROM_FEATURE_CATEGORIES
    )
    return data.select_arm(HILLSTROM_WOMENS) if arms == "womens" else data


def criteo_data(path: str | Path) -> UpliftData:
    """Criteo uplift v2.1 (visit → conversion) from a local CSV (.gz) file."""
    from shopml.data import load

    return from_eventlog(load("criteo_uplift", path), CRITEO_STAGES, "criteo_uplift")


def simulated_data(n: int, seed: int) -> UpliftData:
    """The simulator's ``uplift`` preset (impression → click → conversion) with true effects."""
    from shopml.data.simulate import simulate

    world = simulate("uplift", n, seed)
    return from_eventlog(
        world.log, SIMULATOR_STAGES, "uplift", truth=world.truth.to_pandas()
    )
