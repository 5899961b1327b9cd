"""Why is EFIN's PEHE above the S-learner's on the ``uplift`` preset? (a diagnosis)

On the simulator's ``uplift`` preset (3 arms, conversion stage) EFIN's per-unit effects are
further from the truth than a boosted-tree S-learner's. This script separates the two usual
suspects on one world (100,000 units, the benchmark's split of seed 1, ``--epochs 5`` as the
carded run):

1. **Representation**: can EFIN's uplift path (treatment-aware attention pooling → uplift
   tower) express the true effects at all? It is trained by least squares on the *true*
   conversion effects (no outcome noise) and scored by R² on held-out units, beside a plain
   MLP on the same features.
2. **Learning from outcomes**: the fitted estimators' effects against the truth per arm -
   correlation, spread (sd ratio) and the correlation with ``activity_score``, which drives
   the push arm's (arm 3) effect with a *negative* sign - and the mean correlation of each
   estimator's effects *between* arms (``arm_corr``; the true effects' is about 0). EFIN as
   shipped has one uplift tower per arm; ``efin_shared_tower`` is the earlier version with
   one tower for every arm, whose arms' effects collapse onto one shape (arm_corr ~0.9).

3. **The official training recipe** (``--official``): EFIN's network trained as the authors'
   code trains it (github.com/dgliu/KDD23_EFIN, ``models/architecture.py`` and
   ``tune_efin.py``, read, not copied): squared error of the *raw* outputs against the 0/1
   label (control μ(x), treated μ(x) detached + τ_a(x): a linear-probability model whose τ_a is
   the uplift itself), the inverted-assignment constraint, AdamW (lr 1e-3, weight decay 1e-3,
   the published Criteo optimum), batch 256, up to 20 epochs, early stopping on the validation
   Qini (patience 5), where shopml's EFIN uses a logistic link and stops on the loss.

4. **The paper's binary setting** (``--binary``): EFIN is published for one treatment. Each arm
   is set against control alone (the rows of the two groups; the S-learner also fitted on
   them), and ``efin_binary_per_arm`` fits one binary EFIN per arm that way and predicts every
   arm for every test unit, so it is scored like the other estimators.

    python benchmarks/efin_diagnosis.py --card --variants --official
    # EFIN at its own 20 epochs against the benchmark's 5, on the other seeds (1.5 min each)
    for seed in 2 3 4 5 6 7 8 9 10; do python benchmarks/efin_diagnosis.py --seed $seed \
        --variants --methods s_learner,efin,efin_20_epochs --no-capacity --card; done
    # the same at 1,000,000 units (8 min each)
    for seed in 1 2 3; do python benchmarks/efin_diagnosis.py --units 1000000 --seed $seed \
        --variants --methods s_learner,efin_20_epochs --no-capacity --card; done

    # check 5: EFIN from eight initialisations on the worlds of seeds 1, 2 and 13
    for seed in 1 2 13; do python benchmarks/efin_diagnosis.py --seed $seed --epochs 20 --inits 0..7 \
        --methods s_learner --no-capacity --card --card-name inits; done

    # the binary setting, on the worlds of seeds 1-10
    for seed in 1 2 3 4 5 6 7 8 9 10; do python benchmarks/efin_diagnosis.py --seed $seed \
        --epochs 20 --binary --methods s_learner,efin,efin_binary_per_arm --no-capacity \
        --card --card-name binary; done

5. **Initialisations** (``--inits 0..7``): EFIN refitted on the same rows from several
   ``random_state`` values (initial weights, batch order and early-stopping rows), each
   scored, then the mean of their predictions; with the spread of each arm's effect on the
   logit scale, log(p_a / (1 - p_a)) - log(p_0 / (1 - p_0)), beside the truth's.

About 4 min on one core (``--variants`` about 10 min more, ``--official`` about 2).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def capacity_r2(X: np.ndarray, tau: np.ndarray, train: np.ndarray, test: np.ndarray) -> dict:
    """Held-out R² per arm of EFIN's uplift path and of a plain MLP fitted to the true effects."""
    import torch

    from shopml.uplift.efin import EFINModule
    from shopml.uplift.nets import mlp

    x = torch.from_numpy(((X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1)).astype(np.float32))
    scale = 50.0  # effects are ~0.01: scale the targets to unit order for Adam
    y = torch.from_numpy(tau.astype(np.float32)) * scale
    n_arms = tau.shape[1]
    nets = {
        "plain_mlp": mlp([X.shape[1], 64, 32], n_arms),
        "efin_uplift_path": EFINModule(X.shape[1], n_arms, 1, 8, 64, True, arm_towers=True),
    }
    out = {}
    for name, net in nets.items():
        torch.manual_seed(0)
        forward = (lambda b, net=net: net.parts(b)[1][:, :, 0]) if name != "plain_mlp" else net
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        for _ in range(15):
            order = train[torch.randperm(len(train)).numpy()]
            for s in range(0, len(order), 512):
                rows = order[s : s + 512]
                opt.zero_grad()
                loss = ((forward(x[rows]) - y[rows]) ** 2).mean()
                loss.backward()
                opt.step()
        with torch.no_grad():
            pred = forward(x[test]).numpy() / scale
        truth = tau[test]
        out[name] = (1 - ((pred - truth) ** 2).mean(0) / truth.var(0)).tolist()
    return out


def mean_arm_correlation(effects: np.ndarray) -> float:
    """Mean pairwise correlation between the columns (arms) of an (n, K) effect matrix."""
    upper = np.triu_indices(effects.shape[1], 1)
    return float(np.corrcoef(effects.T)[upper].mean())


class OfficialRecipeEFIN:
    """EFINModule trained with the official code's loss, optimiser and Qini early stopping."""

    def __init__(self, seed: int = 0, epochs: int = 20, patience: int = 5) -> None:
        self.seed, self.epochs, self.patience = seed, epochs, patience

    def fit(self, X: np.ndarray, y: np.ndarray, treatment: np.ndarray) -> OfficialRecipeEFIN:
        """Fit on rows X (n, F), 0/1 outcomes y and arms `treatment` (0 = control)."""
        import torch

        from shopml.uplift.base import uplift_score
        from shopml.uplift.efin import EFINModule, intervention_constraint

        self.arms_ = np.unique(treatment)
        arm = np.searchsorted(self.arms_, treatment)
        n_arms = len(self.arms_) - 1
        self.mean_, scale = X.mean(0), X.std(0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        xt = torch.from_numpy(((X - self.mean_) / self.scale_).astype(np.float32))
        yt, at = torch.from_numpy(y.astype(np.float32)), torch.from_numpy(arm)
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(X))
        valid, fit = order[: len(X) // 10], order[len(X) // 10 :]
        torch.manual_seed(self.seed)
        net = EFINModule(X.shape[1], n_arms, 1, 8, 64, True)
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-3)
        best, best_state, stale = -np.inf, None, 0
        for _ in range(self.epochs):
            net.train()
            batches = fit[rng.permutation(len(fit))]
            for start in range(0, len(batches), 256):
                rows = torch.from_numpy(batches[start : start + 256])
                mu, tau, t_logit = net.parts(xt[rows])
                a = at[rows]
                own = tau[torch.arange(len(rows)), (a - 1).clamp(min=0), 0]
                pred = torch.where(a > 0, mu[:, 0].detach() + own, mu[:, 0])
                loss = ((pred - yt[rows]) ** 2).mean() + intervention_constraint(t_logit, a)
                opt.zero_grad()
                loss.backward()
                opt.step()
            net.eval()
            self.net_ = net
            score = uplift_score(y[valid], self.predict(X[valid]), arm[valid], "qini")
            if score > best:
                best, stale = score, 0
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale > self.patience:
                    break
        net.load_state_dict(best_state)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Uplift per arm (n, K): the τ outputs themselves (probability scale)."""
        import torch

        x = torch.from_numpy(((X - self.mean_) / self.scale_).astype(np.float32))
        with torch.no_grad():
            return self.net_.parts(x)[1][:, :, 0].numpy().astype(np.float64)


def logit_effect_sd(outcomes: np.ndarray) -> list[float]:
    """Per-arm sd of logit(p_a) - logit(p_0) from (n, K + 1) outcome probabilities (column 0 =
    control)."""
    p = np.clip(outcomes, 1e-12, 1 - 1e-12)
    logit = np.log(p) - np.log1p(-p)
    return (logit[:, 1:] - logit[:, :1]).std(axis=0).tolist()


def init_spread(
    make: Callable[[int], Any], X: np.ndarray, y: np.ndarray, treatment: np.ndarray,
    train: np.ndarray, test: np.ndarray, truth: np.ndarray, states: list[int],
) -> dict[str, Any]:
    """Fit ``make(state)`` once per state on the training rows; PEHE and logit-effect spread of
    each fit on the test rows, and the PEHE of the mean of their predicted effects."""
    from shopml.metrics.uplift import pehe

    per_init, preds = {}, []
    for state in states:
        model = make(state).fit(X[train], y[train], treatment=treatment[train])
        pred = model.predict(X[test])
        preds.append(pred)
        outcomes = model.predict_outcomes(X[test])[:, :, -1]
        fit = per_init[str(state)] = {
            "pehe": pehe(truth.ravel(), pred.ravel()),
            "logit_effect_sd": logit_effect_sd(outcomes),
            "best_epoch": int(getattr(model, "best_epoch_", 0)),
        }
        print(f"   init {state}: PEHE {fit['pehe']:.4f} | logit-effect sd "
              + "  ".join(f"{v:.3f}" for v in fit["logit_effect_sd"]), flush=True)  # fmt: skip
    mean_pehe = pehe(truth.ravel(), np.mean(preds, axis=0).ravel())
    print(f"   mean of the {len(states)} fits' effects: PEHE {mean_pehe:.4f}")
    return {"per_init": per_init, "mean_prediction_pehe": mean_pehe}


def init_summary(inits: dict[str, Any]) -> list[dict[str, Any]]:
    """Result rows of check 5: the lowest, median and highest PEHE over the initialisations,
    and the PEHE of their averaged effects."""
    values = [fit["pehe"] for fit in inits["per_init"].values()]
    rows = {
        "efin_inits_lowest": min(values), "efin_inits_median": float(np.median(values)),
        "efin_inits_highest": max(values), "efin_inits_averaged": inits["mean_prediction_pehe"],
    }  # fmt: skip
    return [{"method": name, "metrics": {"pehe": value}} for name, value in rows.items()]


class BinaryPerArm:
    """One binary uplift estimator per arm, each fitted on the rows of control and that arm."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make

    def fit(self, X: np.ndarray, y: np.ndarray, treatment: np.ndarray) -> BinaryPerArm:
        """Fit arm a's estimator on the rows with treatment 0 or a (a = 1..K)."""
        self.arms_ = [a for a in np.unique(treatment) if a != 0]
        self.models_ = []
        for arm in self.arms_:
            rows = np.isin(treatment, (0, arm))
            model = self.make().fit(X[rows], y[rows], treatment=(treatment[rows] == arm) * 1)
            self.models_.append(model)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Uplift per arm (n, K), each column from its arm's binary estimator."""
        return np.column_stack([model.predict(X)[:, 0] for model in self.models_])


def binary_tasks(
    models: dict[str, BinaryPerArm], X: np.ndarray, treatment: np.ndarray, tau: np.ndarray,
    test: np.ndarray,
) -> dict[str, dict[str, float]]:
    """PEHE per arm of fitted per-arm models on the test rows of control and that arm."""
    from shopml.metrics.uplift import pehe

    out: dict[str, dict[str, float]] = {}
    for index, arm in enumerate(range(1, tau.shape[1] + 1)):
        test_rows = test[np.isin(treatment[test], (0, arm))]
        truth = tau[test_rows, arm - 1]
        scores = {"zero_effect": pehe(truth, np.zeros(len(truth)))}
        for name, model in models.items():
            scores[name] = pehe(truth, model.models_[index].predict(X[test_rows])[:, 0])
        out[f"arm{arm}"] = scores
        print(f"   arm {arm} alone: " + "  ".join(f"{k} {v:.4f}" for k, v in scores.items()),
              flush=True)  # fmt: skip
    return out


def efin_variants(options: list[str]) -> dict[str, dict[str, Any]]:
    """['lr.learning_rate=5e-3', 'lr.batch_size=128'] → {'efin_lr': {...}}; checked against
    EFIN's parameters (ValueError naming the bad one; text only where the default is text)."""
    from shopml.cli_support import parse_option_value
    from shopml.uplift.efin import EFIN

    known = EFIN().get_params()
    variants: dict[str, dict[str, Any]] = {}
    for item in options:
        key, sep, raw = item.partition("=")
        name, dot, param = key.partition(".")
        if not sep or not dot or not name:
            raise ValueError(f"--variant must look like NAME.PARAM=VALUE, got {item!r}")
        if param not in known:
            raise ValueError(f"--variant {item!r}: EFIN has no parameter {param!r}")
        value = parse_option_value(raw)
        if isinstance(value, str) and not isinstance(known[param], str):
            raise ValueError(f"--variant {item!r}: {raw!r} is not a number or true/false")
        variants.setdefault(f"efin_{name}", {})[param] = value
    return variants


def main(argv: list[str] | None = None) -> None:
    """Run both checks, print them, optionally write a card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--card", action="store_true")
    parser.add_argument(
        "--variants", action="store_true",
        help="also fit EFIN variants (20 epochs: default, no constraint, no detach, width 32)",
    )  # fmt: skip
    parser.add_argument(
        "--official", action="store_true", help="also fit EFIN with the official training recipe"
    )
    parser.add_argument(
        "--methods", default="", help="comma-separated: fit only these of the estimators above"
    )
    parser.add_argument("--no-capacity", action="store_true", help="skip check 1 (the R² fits)")
    parser.add_argument(
        "--binary", action="store_true",
        help="also check 4: each arm against control alone, and efin_binary_per_arm",
    )  # fmt: skip
    parser.add_argument("--card-name", default="", help="a suffix for the card's name")
    parser.add_argument(
        "--inits", default="", help="check 5: EFIN's random_state values, e.g. 0..7 or 0,3"
    )
    parser.add_argument(
        "--variant", action="append", default=[], metavar="NAME.PARAM=VALUE",
        help="check 6: an EFIN `efin_NAME` with this parameter (repeat; e.g. lr.learning_rate=5e-3)",
    )  # fmt: skip
    parser.add_argument(
        "--random-state", type=int, default=0, help="initialisation of every fitted model"
    )
    args = parser.parse_args(argv)
    from shopml.cli_support import parse_int_range

    try:
        states = parse_int_range(args.inits)
        variants = efin_variants(args.variant)
    except ValueError as err:
        parser.error(str(err))

    import torch
    from sklearn.ensemble import HistGradientBoostingClassifier

    from shopml.metrics.uplift import pehe
    from shopml.uplift.base import get_method
    from shopml.uplift.bench import UpliftBenchSpec, load_data, models_chain, split

    torch.set_num_threads(1)
    spec = UpliftBenchSpec(data="preset", units=args.units)
    data = load_data(spec, args.seed)
    train, test = split(data, "conversion", spec.test_fraction, args.seed)
    X = data.X.to_numpy(dtype=np.float64)
    tau = data.truth["conversion"]
    activity = data.X["activity_score"].to_numpy()

    r2 = None if args.no_capacity else capacity_r2(X, tau, train, test)
    if r2 is not None:
        print("1. R² of fits to the true effects (held out), per arm:")
        for name, values in r2.items():
            print(f"   {name:<18} " + "  ".join(f"{v:.3f}" for v in values))

    y = data.labels["conversion"].astype(float)
    rs = args.random_state
    estimators = {
        "s_learner": lambda: get_method("s_learner")(
            HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, random_state=rs)
        ),
        "efin": lambda: get_method("efin")(epochs=args.epochs, random_state=rs),
        "efin_shared_tower": lambda: get_method("efin")(
            epochs=args.epochs, arm_towers=False, random_state=rs
        ),
        "ecup": lambda: get_method("ecup")(epochs=args.epochs, random_state=rs),
        "ecup_last_weights": lambda: get_method("ecup")(
            epochs=args.epochs, weight_average=False, random_state=rs
        ),
    }
    for name, params in variants.items():
        estimators[name] = lambda params=params: get_method("efin")(
            **{"epochs": args.epochs, "random_state": rs, **params}
        )
    if args.variants:
        efin = get_method("efin")
        estimators |= {
            "efin_20_epochs": lambda: efin(random_state=rs),
            "efin_no_constraint": lambda: efin(constraint_weight=0.0, random_state=rs),
            "efin_no_detach": lambda: efin(detach_control=False, random_state=rs),
            "efin_width_32": lambda: efin(embed_dim=32, random_state=rs),
        }
    if args.official:
        estimators["efin_official_recipe"] = lambda: OfficialRecipeEFIN(seed=0)
    if args.binary:
        estimators["efin_binary_per_arm"] = lambda: BinaryPerArm(
            lambda: get_method("efin")(epochs=args.epochs)
        )
    if args.methods:
        wanted = args.methods.split(",")
        unknown = sorted(set(wanted) - set(estimators))
        if unknown:
            parser.error(f"unknown methods {unknown}; known (with the flags given): {list(estimators)}")
        estimators = {name: estimators[name] for name in wanted}
    else:  # ECUP as first shipped (the relabelled cards' reference) only when named
        estimators.pop("ecup_last_weights")
    truth = tau[test]
    true_activity = [float(np.corrcoef(activity[test], truth[:, a])[0, 1]) for a in range(3)]
    true_arm_corr = mean_arm_correlation(truth)
    print(
        "2. fitted on outcomes; per arm: corr(estimate, truth) | sd ratio | corr(estimate, activity)"
        " | mean corr between arms"
    )
    print(f"   {'truth':<10} corr with activity " + "  ".join(f"{v:+.2f}" for v in true_activity)
          + f" | between arms {true_arm_corr:+.2f}")  # fmt: skip
    zero_effect = pehe(truth.ravel(), np.zeros(truth.size))
    print(f"   {'no effect':<10} PEHE {zero_effect:.4f} (predicting zero effect for everyone)")
    binary = None
    fitted: dict[str, tuple[Any, float]] = {}  # name → (model fitted for check 4, fit seconds)
    if args.binary:
        print("4. each arm against control alone (PEHE on the test rows of the two groups):")
        treatment = np.asarray(data.treatment)
        per_arm = {}
        for name in (n for n in ("s_learner", "efin") if n in estimators):
            start = time.perf_counter()
            per_arm[name] = BinaryPerArm(estimators[name]).fit(X[train], y[train], treatment[train])
            if name == "efin" and "efin_binary_per_arm" in estimators:  # the same fits: reuse
                fitted["efin_binary_per_arm"] = (per_arm[name], time.perf_counter() - start)
        binary = binary_tasks(per_arm, X, treatment, tau, test)
    results = []
    for name, make in estimators.items():
        start = time.perf_counter()
        est, fit_s = fitted.get(name, (None, 0.0))
        if est is None:
            est = make()
            labels = data.chain() if models_chain(est) else y
            est.fit(X[train], labels[train], treatment=data.treatment[train])
        pred = est.predict(X[test])
        wall = time.perf_counter() - start + fit_s
        corr = [float(np.corrcoef(truth[:, a], pred[:, a])[0, 1]) for a in range(3)]
        ratio = [float(pred[:, a].std() / truth[:, a].std()) for a in range(3)]
        act = [float(np.corrcoef(activity[test], pred[:, a])[0, 1]) for a in range(3)]
        error = pehe(truth.ravel(), pred.ravel())
        arm_corr = mean_arm_correlation(pred)
        print(f"   {name:<10} PEHE {error:.4f} | " + "  ".join(f"{v:+.2f}" for v in corr) + " | "
              + "  ".join(f"{v:.2f}" for v in ratio) + " | "
              + "  ".join(f"{v:+.2f}" for v in act) + f" | {arm_corr:+.2f}", flush=True)  # fmt: skip
        metrics = {"pehe": error, "arm_corr": arm_corr}
        for a in range(3):
            metrics[f"corr_arm{a + 1}"] = corr[a]
            metrics[f"sd_ratio_arm{a + 1}"] = ratio[a]
            metrics[f"activity_corr_arm{a + 1}"] = act[a]
        results.append({"method": name, "metrics": metrics, "wall_s": round(wall, 1)})
    inits = None
    if states:
        control = data.true_control["conversion"][test]
        true_sd = logit_effect_sd(np.column_stack([control, control[:, None] + truth]))
        print("5. EFIN from several initialisations (logit-effect sd of the truth: "
              + "  ".join(f"{v:.3f}" for v in true_sd) + ")")  # fmt: skip
        inits = init_spread(
            lambda state: get_method("efin")(epochs=args.epochs, random_state=state),
            X, y, data.treatment, train, test, truth, states,
        )  # fmt: skip
        inits["truth_logit_effect_sd"] = true_sd
        results += init_summary(inits)
    if args.card:
        from shopml.report.cards import write_card

        suffix = f"-{args.card_name}" if args.card_name else ""
        dataset = {"name": f"uplift{suffix}", "preset": "uplift", "clicks": args.units}
        path = write_card(
            "efin_diagnosis", dataset,
            args.seed, vars(args), results,
            name=f"efin_diagnosis-uplift-{args.units}{suffix}-seed{args.seed}",
            extra={
                "capacity_r2": r2, "truth_activity_corr": true_activity,
                "truth_arm_corr": true_arm_corr, "binary_tasks": binary, "inits": inits,
                "zero_effect_pehe": zero_effect,
            },
        )  # fmt: skip
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
