"""`shopml bench uplift`: every uplift method and the causalml / scikit-uplift peers on the same
random splits of Hillstrom, Criteo uplift or the simulator's ``uplift`` preset.

Per seed: a random split stratified by arm and outcome (``test_fraction`` of the rows, never
used for training — neural models hold their early-stopping rows out of the training part),
every method fitted on the training rows and scored on the test rows:

* ``qini`` (Qini coefficient) and ``auuc`` (normalised area under the uplift curve), the mean
  over arms of each arm against control on that arm's and the control rows; ``uplift_at_30``;
* on simulated data also ``pehe`` (root mean squared error of the per-unit effect against the
  true effect, over all arms) and ``ate_error`` on the evaluated stage.

Meta-learners (shopml's, causalml's, scikit-uplift's) share one base classifier; EFIN, ECUP and
TARNet use their defaults. ``random_state`` (default 0) initialises every model - the base
classifier's early-stopping rows, the networks' weights, batch order and early-stopping rows -
so a run can be repeated from other initialisations on the same worlds and splits; a run with
another state carries ``-rsN`` in its variant and card names. ECUP gets the chain labels
(Hillstrom / Criteo: visit → conversion; simulator: impression → click → conversion) and is
scored on the evaluated stage;
``ecup_conversion_only`` is ECUP fitted on the last stage alone. ``tarnet_weight_average`` and
``efin_weight_average`` are TARNet and EFIN with their weights averaged; ``ecup_last_weights``
and ``ecup_conversion_only_last_weights`` are ECUP keeping the last step's weights (as shipped
before 2026-11-30). Before anything is fitted the run checks that every peer it is to run can
be imported (a named one that cannot is refused, naming the package; among the defaults it is
left out with a warning) and, when the features have missing values, that every method can
take them. A card per seed goes to
``docs/results/cards/``; Qini / uplift / decile PNGs of the first seed to ``plots_dir``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shopml.console import print_written
from shopml.data.loaders._common import load_report_entry, print_load_report
from shopml.metrics.uplift import ate_error, pehe
from shopml.uplift.base import arm_scores, get_method
from shopml.uplift.data import UpliftData, criteo_data, hillstrom_data, simulated_data

OURS = ["s_learner", "t_learner", "x_learner", "tarnet", "efin", "ecup"]
PEER_NAMES = [
    "causalml_s_learner",
    "causalml_t_learner",
    "causalml_x_learner",
    "sklift_s_learner",
    "sklift_t_learner",
    "sklift_class_transformation",
]
PRESET_METHODS = ["s_learner", "t_learner", "tarnet", "efin", "ecup", "ecup_conversion_only"]
PRESET_UNITS = 30_000


@dataclass
class UpliftBenchSpec:
    """What one `shopml bench uplift` invocation runs."""

    data: str = "hillstrom"  # hillstrom | criteo_uplift | preset
    path: Path | None = None
    arms: str = "womens"  # hillstrom: womens | all
    outcome: str | None = None  # stage to evaluate; default visit (real) / conversion (preset)
    units: int = PRESET_UNITS
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    methods: list[str] | None = None
    test_fraction: float = 0.3
    card_dir: Path | None = None
    plots_dir: Path | None = None
    write_cards: bool = True
    epochs: int | None = None  # override the neural models' epochs (quick runs)
    random_state: int = 0  # initialisation of every model (not the split: that is the seed)


def _base_classifier(random_state: int = 0) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.1, random_state=random_state
    )


def load_data(spec: UpliftBenchSpec, seed: int) -> UpliftData:
    """The data of one run (the preset is re-simulated per seed)."""
    if spec.data == "hillstrom":
        return hillstrom_data(spec.path, arms=spec.arms)
    if spec.data == "criteo_uplift":
        if spec.path is None:
            raise ValueError("--data criteo_uplift needs the local path of the CSV (.gz) file")
        return criteo_data(spec.path)
    if spec.data == "preset":
        return simulated_data(spec.units, seed)
    raise ValueError(f"unknown uplift data {spec.data!r}; use hillstrom, criteo_uplift or preset")


def method_factories(
    spec: UpliftBenchSpec, data: UpliftData, verbose: bool = False
) -> dict[str, Callable[[], Any]]:
    """Bench name → estimator factory (stage to evaluate is set on ECUP; ``verbose``: the
    networks show their training progress)."""
    from shopml.uplift.peers import PEERS

    outcome = evaluated_stage(spec, data)
    stage_index = data.stages.index(outcome)
    neural: dict[str, Any] = {"random_state": spec.random_state, "verbose": verbose}
    if spec.epochs is not None:
        neural["epochs"] = spec.epochs
    state = spec.random_state
    factories: dict[str, Callable[[], Any]] = {
        "s_learner": lambda: get_method("s_learner")(_base_classifier(state)),
        "t_learner": lambda: get_method("t_learner")(_base_classifier(state)),
        "x_learner": lambda: get_method("x_learner")(_base_classifier(state)),
        "tarnet": lambda: get_method("tarnet")(**neural),
        "efin": lambda: get_method("efin")(**neural),
        "efin_shared_tower": lambda: get_method("efin")(arm_towers=False, **neural),
        "ecup": lambda: get_method("ecup")(target_stage=stage_index, **neural),
        "ecup_conversion_only": lambda: get_method("ecup")(chain=False, **neural),
    }
    # each network with the other choice of weights than its default: averaged over about an
    # epoch, or the last step's (docs/marketing.md, "ECUP with averaged weights")
    for name in ("tarnet", "efin", "ecup", "ecup_conversion_only"):
        average = not factories[name]().weight_average
        suffix = "weight_average" if average else "last_weights"
        factories[f"{name}_{suffix}"] = lambda make=factories[name], average=average: (
            make().set_params(weight_average=average)
        )
    for name, make in PEERS.items():
        factories[name] = lambda make=make: make(_base_classifier(state))
    return factories


def known_methods() -> list[str]:
    """Every method name ``shopml bench uplift --methods`` accepts."""
    import pandas as pd

    stub = UpliftData("", pd.DataFrame(), np.zeros(0, dtype=np.int64), {}, ("conversion",), {})
    return sorted(method_factories(UpliftBenchSpec(data="preset"), stub))


def evaluated_stage(spec: UpliftBenchSpec, data: UpliftData) -> str:
    """The stage whose uplift is scored."""
    stage = spec.outcome or ("conversion" if spec.data == "preset" else "visit")
    if stage not in data.stages:
        raise ValueError(f"outcome {stage!r} is not a stage of {data.name} ({data.stages})")
    return stage


def default_methods(spec: UpliftBenchSpec) -> list[str]:
    """Methods run when none are named."""
    return PRESET_METHODS if spec.data == "preset" else OURS + PEER_NAMES


def chosen_methods(spec: UpliftBenchSpec, console: Console) -> list[str]:
    """The methods to run, checked before anything is fitted: a named peer whose library
    cannot be imported is refused (ValueError naming the package and the methods needing it);
    among the defaults such peers are left out with a printed warning."""
    from shopml.uplift.peers import missing_peers

    names = list(spec.methods or default_methods(spec))
    missing = missing_peers(names)
    if not missing:
        return names
    needs = "; ".join(f"{package} (for {', '.join(m)})" for package, m in missing.items())
    if spec.methods is not None:
        raise ValueError(
            f"cannot import {needs}; pip install {' '.join(missing)} (shopml's 'marketing' "
            "extra) or leave those methods out of --methods. Nothing was run"
        )
    skipped = {m for methods in missing.values() for m in methods}
    console.print(
        f"[yellow]warning:[/yellow] cannot import {needs}: running the other default methods "
        f"without them (pip install {' '.join(missing)} to include them)",
        soft_wrap=True,
    )
    return [name for name in names if name not in skipped]


def check_missing_values(data: UpliftData, names: list[str], factories: dict) -> None:
    """Before fitting: refuse methods that cannot take the data's missing feature values."""
    blank = data.X.columns[data.X.isna().to_numpy().any(axis=0)].tolist()
    if not blank:
        return
    refusing = [n for n in names if n in factories and not factories[n]()._accepts_nan()]
    if refusing:
        taking = ", ".join(n for n in names if n not in refusing)
        raise ValueError(
            f"the features have missing values (NaN) in {blank}; {', '.join(refusing)} cannot "
            "take them (the networks need imputed features). Impute the file or choose "
            "--methods among those that can"
            + (f" ({taking})" if taking else "")
            + ". Nothing was run"
        )


#: fewer expected test rows with a positive outcome than this in a group, and the bench warns
FEW_TEST_POSITIVES = 20


def _group_outcomes(data: UpliftData, outcome: str) -> list[tuple[int, str, int, int]]:
    """(treatment code, name, rows with outcome 0, rows with outcome 1) of control and of
    every arm."""
    y = data.labels[outcome]
    out = []
    for group in (0, *data.arms):
        in_group = data.treatment == group
        name = data.arm_names.get(group, "control" if group == 0 else f"arm {group}")
        out.append((group, f"{name!r} (treatment {group})", int((y[in_group] == 0).sum()),
                    int((y[in_group] == 1).sum())))  # fmt: skip
    return out


def small_group_warnings(data: UpliftData, outcome: str, test_fraction: float) -> list[str]:
    """Warnings for control or an arm whose test rows will hold few positive outcomes (its
    Qini / AUUC then rest on a handful of rows) or none (its uplift cannot be measured)."""
    notes = []
    for group, name, _, positives in _group_outcomes(data, outcome):
        expected = positives * test_fraction
        if positives == 0:
            notes.append(
                f"{name} has no row with {outcome} = 1: "
                + (
                    "the arms' uplift is measured against a control rate of 0 (their Qini / "
                    "AUUC say little)"
                    if group == 0
                    else "its uplift cannot be measured (its Qini / AUUC say nothing)"
                )
            )
        elif expected < FEW_TEST_POSITIVES:
            whose = "the arms'" if group == 0 else "its"
            notes.append(
                f"{name} has {positives:,} row(s) with {outcome} = 1, about {expected:.0f} in "
                f"each test split: {whose} Qini / AUUC rest on very few rows"
            )
    return notes


def split(data: UpliftData, outcome: str, test_fraction: float, seed: int) -> tuple:
    """Random train / test row indices stratified by arm × outcome; a group with a single row
    of an outcome value (which cannot be both trained and tested on) is a ValueError."""
    from sklearn.model_selection import train_test_split

    for _, name, negatives, positives in _group_outcomes(data, outcome):
        for value, count in ((0, negatives), (1, positives)):
            if count == 1:
                raise ValueError(
                    f"{name} has a single row with {outcome} = {value}: the split, stratified "
                    f"by arm × {outcome}, needs at least 2 (a training and a test row). Leave "
                    "that arm out of the file (or choose other --arms), or use more rows"
                )
    strata = data.treatment * 2 + data.labels[outcome]
    rows = np.arange(len(data.treatment))
    return train_test_split(rows, test_size=test_fraction, random_state=seed, stratify=strata)


def models_chain(estimator: Any) -> bool:
    """Whether an estimator is fitted on the chain labels (ECUP with ``chain=True``)."""
    return bool(getattr(estimator, "_multi_stage", False) and getattr(estimator, "chain", True))


def run_method(
    factory: Callable[[], Any], data: UpliftData, outcome: str, train: np.ndarray, test: np.ndarray
) -> tuple[dict[str, float], np.ndarray, float, Any]:
    """Fit on train rows, score on test rows: (metrics, test uplift, wall seconds, the fitted
    estimator)."""
    X = data.X.to_numpy(dtype=np.float64)
    estimator = factory()
    y = data.chain() if models_chain(estimator) else data.labels[outcome].astype(float)
    start = time.perf_counter()
    estimator.fit(X[train], y[train], treatment=data.treatment[train])
    uplift = estimator.predict(X[test])
    wall = time.perf_counter() - start
    y_test, t_test = data.labels[outcome][test], data.treatment[test]
    arms = estimator.arms_  # the columns' arm codes (the split gives the test rows every arm)
    metrics = {
        m: float(np.mean(arm_scores(y_test, uplift, t_test, m, arms=arms)))
        for m in ("qini", "auuc", "uplift_at_30")
    }
    if data.truth is not None and outcome in data.truth:
        truth = data.truth[outcome][test]
        metrics["pehe"] = pehe(truth.ravel(), uplift.ravel())
        metrics["ate_error"] = float(
            np.mean([ate_error(truth[:, a], uplift[:, a]) for a in range(truth.shape[1])])
        )
    return metrics, uplift, wall, estimator


def training_record(estimator: Any) -> dict[str, int] | None:
    """Epochs a fitted network ran and the epoch whose weights it kept (None for others)."""
    if not hasattr(estimator, "best_epoch_"):
        return None
    return {"epochs_run": int(estimator.n_epochs_), "best_epoch": int(estimator.best_epoch_)}


def bayes_limit(data: UpliftData, outcome: str, test: np.ndarray) -> dict[str, float] | None:
    """The metrics of the true effects on the same test rows (simulated data only)."""
    if data.truth is None or outcome not in data.truth:
        return None
    truth = data.truth[outcome][test]
    y, t = data.labels[outcome][test], data.treatment[test]
    return {
        "qini": float(np.mean(arm_scores(y, truth, t, "qini"))),
        "auuc": float(np.mean(arm_scores(y, truth, t, "auuc"))),
        "pehe": 0.0,
    }


SAMPLES = {
    "hillstrom": "hillstrom/hillstrom.csv",
    "criteo_uplift": "criteo_uplift/criteo-uplift-v2.1-head1000.csv",
}


def _dataset_card(spec: UpliftBenchSpec, data: UpliftData) -> dict[str, Any]:
    """The card's dataset entry; a file other than the data set's registered sample is named
    after itself (``hillstrom-<stem>-<sha256[:8]>``), so it never shares the sample's cards."""
    from shopml.report.cards import file_dataset, sha256_file

    if spec.data == "preset":
        return {"name": "uplift", "preset": "uplift", "clicks": spec.units}
    path = spec.path
    if path is None:
        from shopml.data.samples import sample_path

        path = sample_path(SAMPLES[spec.data])
    return {
        **file_dataset(spec.data, path, sha256_file(path), SAMPLES.get(spec.data)),
        "rows": len(data.treatment),
        **load_report_entry(data.meta),
    }


def run_bench(spec: UpliftBenchSpec, console: Console, progress: bool = True) -> list[dict]:
    """Run every seed, print a leaderboard, write cards; return per-seed results."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    with threadpool_limits(limits=1):  # OpenMP / BLAS: one thread on a shared machine
        return _run_bench(spec, console, progress)


def _run_bench(spec: UpliftBenchSpec, console: Console, progress: bool) -> list[dict]:
    from shopml.report.cards import check_card_paths, write_card

    all_runs: list[dict] = []
    figure_paths: list[Path] = []
    data = None
    names = chosen_methods(spec, console)
    for seed_number, seed in enumerate(spec.seeds):
        if data is None or spec.data == "preset":
            if spec.data != "preset" and progress:
                console.print(f"reading {escape(str(spec.path or spec.data))} ...", soft_wrap=True)
            data = load_data(spec, seed)
            if seed_number == 0:
                print_load_report(data.meta.get("load_report"), spec.path or spec.data, console)
                for note in small_group_warnings(
                    data, evaluated_stage(spec, data), spec.test_fraction
                ):
                    console.print(f"[yellow]warning:[/yellow] {escape(str(note))}", soft_wrap=True)
        outcome = evaluated_stage(spec, data)
        factories = method_factories(spec, data, verbose=progress)
        unknown = [n for n in names if n not in factories]
        if unknown:
            raise ValueError(
                f"unknown uplift bench method(s) {unknown}; known: {sorted(factories)}"
            )
        check_missing_values(data, names, factories)
        train, test = split(data, outcome, spec.test_fraction, seed)
        dataset_card = _dataset_card(spec, data)
        variant = _variant(spec, data, outcome)
        if seed_number == 0 and spec.write_cards and spec.data != "preset":
            # a file's cards are known now: refuse before anything is fitted
            stems = [_card_name(spec, dataset_card, variant, s) for s in spec.seeds]
            check_card_paths(dataset_card, stems, spec.card_dir, console)
        results = []
        for name in names:
            if progress:
                console.print(f"[dim]seed {seed}: {name} ...[/dim]", end=" ")
            metrics, uplift, wall, fitted = run_method(factories[name], data, outcome, train, test)
            if progress:
                console.print(f"qini {metrics['qini']:.4f} ({wall:.1f} s)")
            entry = {"method": name, "metrics": metrics, "wall_s": round(wall, 2)}
            training = training_record(fitted)
            if training is not None:
                entry["training"] = training
            results.append(entry)
            if seed_number == 0 and spec.plots_dir is not None and name in ("efin", "ecup"):
                figures = spec.data if spec.data == "preset" else dataset_card["name"]
                figure_paths += _plots(spec, data, outcome, test, uplift, name, figures)
        config = {
            "variant": variant,
            "outcome": outcome,
            "stages": list(data.stages),
            "arms": {str(k): v for k, v in data.arm_names.items()},
            "test_fraction": spec.test_fraction,
            "train_rows": len(train),
            "test_rows": len(test),
            "base_classifier": "HistGradientBoostingClassifier(max_iter=100, lr=0.1)",
            "neural_epochs": spec.epochs,
            "random_state": spec.random_state,
            "split": "random, stratified by arm x outcome, seed = run seed",
        }
        run = {"seed": seed, "config": config, "results": results}
        limit = bayes_limit(data, outcome, test)
        if spec.write_cards:
            run["card"] = write_card(
                "uplift", dataset_card, seed, config, results, bayes_limit=limit,
                out_dir=spec.card_dir, name=_card_name(spec, dataset_card, variant, seed),
            )  # fmt: skip
        all_runs.append(run)
    console.print(
        leaderboard(all_runs, f"uplift: {spec.data} ({all_runs[0]['config']['variant']})")
    )
    print_written(console, [run["card"] for run in all_runs if "card" in run])
    if figure_paths:
        where = escape(str(spec.plots_dir))
        console.print(f"wrote {len(figure_paths)} figure(s) to {where}", soft_wrap=True)
    return all_runs


def _card_name(spec: UpliftBenchSpec, dataset: dict[str, Any], variant: str, seed: int) -> str:
    """Card file stem; simulated runs carry their size so different sizes never overwrite."""
    size = f"-{spec.units}" if spec.data == "preset" else ""
    return f"uplift-{dataset['name']}{size}-{variant}-seed{seed}"


def _variant(spec: UpliftBenchSpec, data: UpliftData, outcome: str) -> str:
    """Arms and outcome, the neural models' epochs when capped and the models' initialisation
    when not the default 0 (cards never mix them)."""
    if spec.data == "hillstrom":
        base = f"{spec.arms}-{outcome}"
    else:
        base = f"{len(data.arms)}arms-{outcome}"
    if spec.epochs is not None:
        base += f"-epochs{spec.epochs}"
    return base if spec.random_state == 0 else f"{base}-rs{spec.random_state}"


def _plots(
    spec: UpliftBenchSpec, data: UpliftData, outcome: str, test: np.ndarray, uplift: np.ndarray,
    name: str, dataset_name: str,
) -> list[Path]:  # fmt: skip
    from shopml.uplift.plots import save_uplift_plots

    y, t = data.labels[outcome][test], data.treatment[test]
    paths: list[Path] = []
    for column, arm in enumerate(data.arms):
        rows = (t == 0) | (t == arm)
        label = f"{name} on {data.name}, {data.arm_names.get(arm, arm)} vs control ({outcome})"
        stem = f"{dataset_name}-{_variant(spec, data, outcome)}-{name}-arm{arm}"
        paths += save_uplift_plots(y[rows], uplift[rows, column], (t[rows] == arm).astype(int),
                                   spec.plots_dir, stem, label)  # fmt: skip
    return paths


def leaderboard(runs: list[dict], title: str) -> Table:
    """Mean ± std over seeds of every metric per method."""
    metrics: list[str] = []
    values: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        for entry in run["results"]:
            per = values.setdefault(entry["method"], {})
            for key, value in [*entry["metrics"].items(), ("wall_s", entry["wall_s"])]:
                per.setdefault(key, []).append(value)
                if key not in metrics:
                    metrics.append(key)
    table = Table(title=f"{escape(title)} — mean ± std over {len(runs)} seed(s)")
    table.add_column("method")
    for m in metrics:
        table.add_column(m, justify="right")
    for method, per in values.items():
        cells = []
        for m in metrics:
            v = np.asarray(per.get(m, []), dtype=float)
            cells.append("" if v.size == 0 else (
                f"{v.mean():.4f}" if v.size == 1 else f"{v.mean():.4f} ± {v.std(ddof=1):.4f}"))  # fmt: skip
        table.add_row(method, *cells)
    return table
