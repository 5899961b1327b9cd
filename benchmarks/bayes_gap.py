"""Is the ``cascade`` truth the best predictor from the features? (the Bayes-limit check)

The NetCVR benchmark reports the truth's metrics on the evaluation clicks as the "Bayes
limit"; that only means something if the true probabilities are (almost) a function of the
22 declared fields plus the day-to-day drift no feature reveals. This script simulates a
world, splits it by time (first 60 % of the span for training, last 25 % for test; labels
complete, as the Oracle sees them), fits

* ``lr``: logistic regression on one-hot fields (sklearn lbfgs on a sparse design; CVR on
  all clicks with y = paid within 3 d, RFR on paid clicks with y = refunded within 3 d);
* ``lr_crosses`` (``--crosses``): the same regression with, in addition, one-hot crosses of
  the field pairs the truth interacts (the preset's :data:`PAIRS` and promotion x crowd tag):
  nearly the truth's own functional form (full-rank crosses instead of low-rank factors), so
  its gap is close to the estimation error a well-specified model makes on this much data;
* ``dualtower``: the project's cascaded embedding + MLP model
  (:class:`shopml.conversion.base.DualTower`), a few epochs of Adam, batch 2048, frozen
  after the training period (``--per-epoch``: scored after every epoch);
* ``dualtower_online``: the same model kept learning day by day after the training period
  (predict a day, then train one pass on it, labels complete - the Oracle's protocol), so it
  tracks the drift,

and prints test AUC for CVR and NetCVR (p_net = p_cvr * (1 - p_rfr)) beside the truth's AUC
on the same clicks, and the gaps. ``--zero-effects u_1,i_2`` adds what the truth owes to the
main effects of those fields: the same world re-simulated with their effect tables drawn as
usual (so every other random draw, click and label is unchanged) and then set to zero, scored
as a predictor of the full world's labels (with and without the day drift). Small CPU job
(2M clicks: about 5 min on 2 cores).

    python benchmarks/bayes_gap.py --clicks 2000000 --seed 1
    # how much of the truth's AUC do the id effects and the drift carry? (truth only, 1 min)
    python benchmarks/bayes_gap.py --zero-effects u_1,i_2 --skip lr,dualtower,dualtower_online \
        --card
    # how close can any model get? drift-free 4M world (cards in docs/conversion.md, 20 min each)
    python benchmarks/bayes_gap.py --clicks 4000000 --threads 1 --crosses --per-epoch \
        --lr-c 0.1,0.03 --skip dualtower_online --preset-param drift_sd=0 \
        --preset-param global_drift_sd=0 --preset-param refund_drift_sd=0 --card
    python benchmarks/bayes_gap.py --clicks 4000000 --threads 1 --crosses --per-epoch \
        --blank u_1,i_2 --lr-c 0.3,0.1,0.03,0.01 --skip dualtower_online \
        --preset-param drift_sd=0 --preset-param global_drift_sd=0 \
        --preset-param refund_drift_sd=0 --card
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

DAY = 86_400
W = 3 * DAY


def _onehot(x: np.ndarray, cards: list[int]):
    """Sparse one-hot design of integer codes x [n, F] with per-field vocab `cards`."""
    from scipy.sparse import csr_matrix

    offsets = np.concatenate([[0], np.cumsum(cards)[:-1]]).astype(np.int64)
    n, f = x.shape
    cols = (x + offsets).ravel()
    return csr_matrix(
        (np.ones(n * f, dtype=np.float32), cols, np.arange(0, n * f + 1, f, dtype=np.int64)),
        shape=(n, int(sum(cards))),
    )


def pair_crosses(x: np.ndarray, names: list[str], cards: list[int]) -> tuple[np.ndarray, list[int]]:
    """x with one extra column per interacting field pair (code of the pair), and vocabularies."""
    from shopml.data.simulate.cascade import PAIRS

    pairs = [(p.user_field, p.item_field) for p in PAIRS] + [("u_3", "c_5")]  # promo x crowd
    index = {name: i for i, name in enumerate(names)}
    extra = [x[:, index[a]] * cards[index[b]] + x[:, index[b]] for a, b in pairs]
    vocab = [cards[index[a]] * cards[index[b]] for a, b in pairs]
    return np.concatenate([x, np.stack(extra, axis=1)], axis=1), cards + vocab


def fit_lr(x, y_cvr, paid, y_rfr, x_test, cards, c: float) -> tuple[np.ndarray, np.ndarray]:
    """(p_cvr, p_rfr) on the test clicks from two one-hot logistic regressions."""
    from sklearn.linear_model import LogisticRegression

    design, test = _onehot(x, cards), _onehot(x_test, cards)
    cvr = LogisticRegression(C=c, solver="lbfgs", max_iter=300, tol=1e-5)
    cvr.fit(design, y_cvr)
    rfr = LogisticRegression(C=c, solver="lbfgs", max_iter=300, tol=1e-5)
    rfr.fit(design[paid], y_rfr[paid])
    return cvr.predict_proba(test)[:, 1], rfr.predict_proba(test)[:, 1]


class Tower:
    """DualTower + Adam with the cascaded BCE (RFR loss on paid clicks only)."""

    def __init__(self, cards: list[int], seed: int, lr: float, batch: int) -> None:
        import torch

        from shopml.conversion.base import DualTower, ModelConfig

        torch.manual_seed(seed)
        self.torch = torch
        self.model = DualTower(cards, ModelConfig())
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.batch = batch
        self.rng = np.random.default_rng(seed)

    def fit(self, x: np.ndarray, y_cvr: np.ndarray, y_rfr: np.ndarray, epochs: int) -> None:
        """`epochs` shuffled passes; y_rfr is NaN where the click did not pay."""
        torch = self.torch
        from shopml.conversion.base import masked_bce
        from shopml.conversion.stream import MASKED

        xt = torch.from_numpy(x.astype(np.int64))
        yc = torch.from_numpy(y_cvr.astype(np.float32))
        yr = torch.from_numpy(np.where(np.isnan(y_rfr), MASKED, y_rfr).astype(np.float32))
        self.model.train()
        for _ in range(epochs):
            order = torch.from_numpy(self.rng.permutation(len(x)))
            for start in range(0, len(x), self.batch):
                idx = order[start : start + self.batch]
                if len(idx) < 2:  # BatchNorm needs two rows
                    continue
                out = self.model(xt[idx])
                loss = masked_bce(out["cvr_logit"], yc[idx]) + masked_bce(out["rfr_logit"], yr[idx])
                self.opt.zero_grad()
                (loss / len(idx)).backward()
                self.opt.step()

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(p_cvr, p_rfr)."""
        torch = self.torch
        self.model.eval()
        with torch.no_grad():
            out = self.model(torch.from_numpy(x.astype(np.int64)))
            return (
                torch.sigmoid(out["cvr_logit"]).numpy(),
                torch.sigmoid(out["rfr_logit"]).numpy(),
            )


@contextmanager
def zeroed_main_effects(fields: set[str]) -> Iterator[None]:
    """Worlds simulated inside the block draw the main-effect tables of `fields` as usual (so
    every other random draw is unchanged) and then zero them."""
    from shopml.data.simulate.world import World

    draw = World.code_table

    def code_table(self: World, rng: np.random.Generator, name: str, effect: object) -> np.ndarray:
        table = draw(self, rng, name, effect)
        return np.zeros_like(table) if name in fields else table

    World.code_table = code_table
    try:
        yield
    finally:
        World.code_table = draw


def _dataset_name(args: argparse.Namespace, params: dict) -> str:
    """The preset, with its overridden constants, hidden and zeroed fields in brackets."""
    parts = [f"{k}={v}" for k, v in sorted(params.items())]
    parts += [f"blank={f}" for f in filter(None, args.blank.split(","))]
    parts += [f"zeroed={f}" for f in filter(None, args.zero_effects.split(","))]
    return f"{args.preset}[{','.join(parts)}]" if parts else args.preset


def _card_name(args: argparse.Namespace, params: dict) -> str | None:
    """The default card name for the default study, a descriptive one for any variant."""
    variant = "".join(f"-{k}{v:g}" for k, v in sorted(params.items()))
    variant += "".join(f"-blank_{f}" for f in filter(None, args.blank.split(",")))
    variant += "".join(f"-zeroed_{f}" for f in filter(None, args.zero_effects.split(",")))
    variant += "-crosses" * args.crosses + "-per_epoch" * args.per_epoch
    if args.lr_c != "0.5":
        variant += f"-lr_c{args.lr_c.replace(',', '_')}"
    if not variant and args.clicks == 2_000_000:
        return None
    return f"bayes_gap-{args.preset}{variant}-{args.clicks}-seed{args.seed}"


def main(argv: list[str] | None = None) -> None:
    """Simulate, split, fit, print the AUC table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--preset", default="cascade")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch", type=int, default=2048)
    parser.add_argument(
        "--lr-c", default="0.5", help="inverse L2 strength of the LR (several: comma-separated)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip", default="", help="comma-separated methods to skip")
    parser.add_argument("--card", action="store_true", help="write a result card")
    parser.add_argument("--crosses", action="store_true", help="also fit lr_crosses")
    parser.add_argument("--per-epoch", action="store_true", help="score the frozen tower per epoch")
    parser.add_argument(
        "--preset-param", action="append", default=[], metavar="NAME=VALUE",
        help="override a preset constant (repeatable), e.g. drift_sd=0",
    )  # fmt: skip
    parser.add_argument(
        "--blank", default="", help="comma-separated fields the models do not see (codes set to 0)"
    )
    parser.add_argument(
        "--zero-effects", default="",
        help="comma-separated fields: also score the truth with their main effects zeroed",
    )  # fmt: skip
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))

    import torch

    from shopml.data.simulate import parse_preset_params, simulate
    from shopml.metrics.classification import auc

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    try:
        params = parse_preset_params(args.preset_param, numbers_only=True)
    except ValueError as exc:
        parser.error(str(exc))
    result = simulate(args.preset, args.clicks, args.seed, params or None)
    log, truth = result.log, result.truth
    names = log.spec.names
    cards = [f.vocab_size for f in log.spec.features]
    x = np.stack([log.column(name) for name in names], axis=1)
    for name in filter(None, args.blank.split(",")):
        if name not in names:
            parser.error(f"--blank: {name!r} is not a field of the {args.preset} log ({names})")
        x[:, names.index(name)] = 0
    y_cvr = log.converted(W).astype(np.float32)
    y_net = log.net_converted(W, W).astype(np.float32)
    y_rfr = np.where(y_cvr > 0, y_cvr - y_net, np.nan).astype(np.float32)
    meta = log.spec.meta
    frac = (log.column("ts") - meta["start_ts"]) / (meta["end_ts"] - meta["start_ts"])
    day = (log.column("ts") - meta["start_ts"]) // DAY
    train, test = frac < 0.60, frac >= 0.75
    paid = train & (y_cvr > 0)
    print(
        f"{args.preset} {args.clicks:,} clicks seed {args.seed}: train {train.sum():,} "
        f"(paid {paid.sum():,}), test {test.sum():,}; simulated in {time.perf_counter() - t0:.1f}s"
    )
    p_pay, p_net = truth["p_pay"].to_numpy()[test], truth["p_net"].to_numpy()[test]
    yc, yn = y_cvr[test], y_net[test]
    rows = [("truth (Bayes limit)", auc(yc, p_pay), auc(yn, p_net), 0.0)]
    if "p_net_no_drift" in truth.column_names:
        still_pay = truth["p_pay_no_drift"].to_numpy()[test]
        still_net = truth["p_net_no_drift"].to_numpy()[test]
        rows.append(("truth without day drift", auc(yc, still_pay), auc(yn, still_net), 0.0))
    zeroed = sorted(filter(None, args.zero_effects.split(",")))
    if zeroed:
        with zeroed_main_effects(set(zeroed)):
            reduced = simulate(args.preset, args.clicks, args.seed, params or None).truth
        if not np.array_equal(reduced["click_id"].to_numpy(), truth["click_id"].to_numpy()):
            raise RuntimeError("zeroing main effects changed the clicks; the comparison is void")
        label = f"truth without {'/'.join(zeroed)} effects"
        for suffix, drift in (("", ""), ("_no_drift", " or day drift")):
            if f"p_net{suffix}" in reduced.column_names:
                rows.append((label + drift, auc(yc, reduced[f"p_pay{suffix}"].to_numpy()[test]),
                             auc(yn, reduced[f"p_net{suffix}"].to_numpy()[test]), 0.0))  # fmt: skip

    def add(name: str, p_cvr: np.ndarray, p_rfr: np.ndarray, seconds: float) -> None:
        rows.append((name, auc(yc, p_cvr), auc(yn, p_cvr * (1 - p_rfr)), seconds))

    strengths = [float(c) for c in str(args.lr_c).split(",")]
    designs = [("lr one-hot", x, cards)] if "lr" not in skip else []
    if args.crosses:
        designs.append(("lr crosses", *pair_crosses(x, names, cards)))
    for label, design, vocab in designs:
        for c in strengths:
            t0 = time.perf_counter()
            pc, pr = fit_lr(design[train], y_cvr[train], paid[train],
                            np.nan_to_num(y_rfr[train]), design[test], vocab, c)  # fmt: skip
            add(
                label if len(strengths) == 1 else f"{label} c{c:g}",
                pc,
                pr,
                time.perf_counter() - t0,
            )
    if "dualtower" not in skip or "dualtower_online" not in skip:
        t0 = time.perf_counter()
        tower = Tower(cards, args.seed, args.lr, args.batch)
        for epoch in range(1, args.epochs + 1) if args.per_epoch else ():
            tower.fit(x[train], y_cvr[train], y_rfr[train], 1)
            if epoch < args.epochs:
                add(
                    f"dualtower frozen {epoch} ep",
                    *tower.predict(x[test]),
                    time.perf_counter() - t0,
                )
        if not args.per_epoch:
            tower.fit(x[train], y_cvr[train], y_rfr[train], args.epochs)
        if "dualtower" not in skip:
            label = (
                f"dualtower frozen {args.epochs} ep"
                if args.per_epoch
                else (f"dualtower frozen ({args.epochs} ep)")
            )
            add(label, *tower.predict(x[test]), time.perf_counter() - t0)
        if "dualtower_online" not in skip:
            pc, pr = np.empty(test.sum(), np.float32), np.empty(test.sum(), np.float32)
            test_pos = np.cumsum(test) - 1
            for d in range(int(day[train].max()) + 1, int(day.max()) + 1):
                rows_d = (day == d) & ~train
                scored = rows_d & test
                if scored.any():
                    pc[test_pos[scored]], pr[test_pos[scored]] = tower.predict(x[scored])
                tower.fit(x[rows_d], y_cvr[rows_d], y_rfr[rows_d], 1)
            add("dualtower online (day by day)", pc, pr, time.perf_counter() - t0)

    truth_cvr, truth_net = rows[0][1], rows[0][2]
    print(f"{'model':<32} {'CVR AUC':>8} {'gap':>7} {'NetCVR AUC':>11} {'gap':>7} {'fit s':>6}")
    for name, a_cvr, a_net, seconds in rows:
        print(f"{name:<32} {a_cvr:>8.4f} {truth_cvr - a_cvr:>7.4f} {a_net:>11.4f} "
              f"{truth_net - a_net:>7.4f} {seconds:>6.0f}")  # fmt: skip
    if args.card:
        from shopml.report.cards import sha256_config, write_card

        results = [
            {
                "method": name.split(" (")[0].replace(" ", "_").replace("-", "_").lower(),
                "metrics": {"cvr_auc": a_cvr, "netcvr_auc": a_net, "netcvr_gap": truth_net - a_net},
                "wall_s": round(seconds, 1),
            }
            for name, a_cvr, a_net, seconds in rows[1:]
        ]
        path = write_card(
            "bayes_gap",
            {"name": _dataset_name(args, params), "preset": args.preset, "clicks": args.clicks,
             "sha256": sha256_config(result.config)},
            args.seed,
            vars(args),
            results,
            bayes_limit={"cvr_auc": truth_cvr, "netcvr_auc": truth_net},
            name=_card_name(args, params),
        )  # fmt: skip
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
