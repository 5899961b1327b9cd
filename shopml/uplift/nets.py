"""Training and prediction shared by the neural uplift estimators (TARNet, EFIN, ECUP).

A network maps standardised features to one output per arm (and per chain stage): shape
``(n, K + 1, S)`` with arm 0 = control and S stages (S = 1 unless the model takes chain
labels). Binary outcomes are fitted with log loss on probabilities, real outcomes with squared
error; training is mini-batch Adam for at most ``epochs`` epochs with early stopping on the
training loss (the model's whole objective: factual loss plus any auxiliary term such as EFIN's
intervention constraint) of a held-out ``validation_fraction`` of the training rows (per arm;
``patience`` epochs without improvement stop it, the best epoch's weights are kept; a fitted
model's ``n_epochs_`` says how many epochs ran, ``best_epoch_`` whose weights it kept). Stopping on
the factual term alone was tried for EFIN (2026-11-30): it stopped within seconds and its Hillstrom
Womens Qini on the first two splits fell to -0.020 and 0.038 (0.058 +- 0.012 over five splits with
the whole objective), so the whole objective is kept. ``weight_average=True`` validates and keeps
an exponential moving average of the weights (decay 1 - 1/steps per epoch, about one epoch of
steps) instead of the last step's: the last weights put a rare outcome's level a little off from
epoch to epoch, so the validation loss jitters and early stopping can end training early. On the
``uplift`` preset it lowers ECUP's PEHE at 30,000, 100,000 and 1,000,000 units (judged on fresh
worlds first); EFIN's only at 100,000 and 1,000,000, and there by less than its initialisation
moves it, while at 30,000 EFIN over-fits. TARNet with it (fresh worlds) is level at 30,000 units
and on Hillstrom and better at 100,000 and 1,000,000. So it is ECUP's default and off for EFIN
and TARNet (docs/marketing.md, "ECUP with averaged weights"). The thread
budget is the caller's (``torch.set_num_threads``). Uplift of arm a = output(a) − output(control).
The networks need imputed features: a NaN in X stops ``fit`` / ``predict`` with an error naming
the columns that hold NaN.
"""

from __future__ import annotations

import copy
import itertools
import math
import numbers
from typing import Any

import numpy as np

from shopml.uplift.base import UpliftEstimator, UpliftInputError

#: layer-size parameters of the networks, checked as whole numbers >= 1 where a model has them
_SIZE_PARAMETERS = ("hidden", "head_hidden", "embed_dim")


def _whole_number(value: Any, at_least: int) -> bool:
    """Whether ``value`` is a whole number (an int, or a float without fraction) >= at_least."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return float(value).is_integer() and value >= at_least


def embed_features(x: Any, weight: Any) -> Any:
    """EFIN-style feature encoding: column j of x (n, F) scales its own vector → (n, F, d)."""
    return x.unsqueeze(2) * weight.unsqueeze(0)


def moving_average(average: Any, module: Any, decay: float) -> None:
    """average ← decay · average + (1 − decay) · module, parameter by parameter (in place)."""
    import torch

    with torch.no_grad():
        for kept, current in zip(average.parameters(), module.parameters(), strict=True):
            kept.mul_(decay).add_(current, alpha=1.0 - decay)


def mlp(sizes: list[int], out: int | None = None) -> Any:
    """Linear → ELU stack (optionally ending in a linear layer of width ``out``)."""
    import torch.nn as nn

    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.ELU()]
    if out is not None:
        layers.append(nn.Linear(sizes[-1], out))
    return nn.Sequential(*layers)


class NeuralUpliftEstimator(UpliftEstimator):
    """Base class of the torch estimators: fit loop, standardisation, per-arm outputs."""

    def _nan_advice(self) -> str:
        return (
            f"{type(self).__name__} needs imputed features: the network cannot take missing "
            "values (NaN); impute them first (e.g. sklearn.impute.SimpleImputer in a Pipeline)"
        )

    def _build(self, n_features: int, n_arms: int, n_stages: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define _build")

    def _loss(self, module: Any, xb: Any, yb: Any, ab: Any) -> Any:
        """Factual loss: each row's output under its own arm against its labels."""
        out = module(xb)  # (b, K+1, S) logits or means
        factual = out.gather(1, ab.view(-1, 1, 1).expand(-1, 1, out.shape[2])).squeeze(1)
        return self._pointwise(factual, yb).mean()

    def _pointwise(self, prediction: Any, target: Any) -> Any:
        import torch.nn.functional as F

        if self.binary_:
            return F.binary_cross_entropy_with_logits(prediction, target, reduction="none")
        return (prediction - target) ** 2

    def _labels(self, y: np.ndarray) -> np.ndarray:
        """(n, S) label matrix."""
        return y.reshape(len(y), -1)

    def _check_training_parameters(self) -> None:
        """A clear error for training parameters that would train nothing or fail later."""
        problems = [
            f"{name}={getattr(self, name)!r} (a whole number, at least 1)"
            for name in ("epochs", "batch_size", "patience", *_SIZE_PARAMETERS)
            if hasattr(self, name) and not _whole_number(getattr(self, name), at_least=1)
        ]
        state = self.random_state
        if not (state is None or isinstance(state, np.random.RandomState)) and not _whole_number(
            state, at_least=0
        ):
            problems.append(
                f"random_state={state!r} (a whole number, 0 or more, the seed of the weights, "
                "batch order and early-stopping rows; None, a fresh seed per fit; or a "
                "numpy RandomState to draw it from)"
            )
        if not float(self.learning_rate) > 0:
            problems.append(f"learning_rate={self.learning_rate!r} (above 0)")
        if not 0 <= float(self.validation_fraction) < 1:
            problems.append(f"validation_fraction={self.validation_fraction!r} (0 <= f < 1)")
        if problems:
            raise UpliftInputError(f"{type(self).__name__}: bad " + ", ".join(problems))

    def _fit(self, X: np.ndarray, y: np.ndarray, arm_index: np.ndarray) -> None:
        import torch

        self._check_training_parameters()
        self.seed_ = self._seed()
        labels = self._labels(y)
        self.binary_ = bool(np.isin(labels, (0.0, 1.0)).all())
        self.mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        Xs = ((X - self.mean_) / self.scale_).astype(np.float32)
        if not self.binary_:
            self.y_mean_ = labels.mean(axis=0)
            y_scale = labels.std(axis=0)
            self.y_scale_ = np.where(y_scale > 0, y_scale, 1.0)
            labels = (labels - self.y_mean_) / self.y_scale_
        torch.manual_seed(self.seed_)
        module = self._build(X.shape[1], self.n_arms_, labels.shape[1])
        optimiser = torch.optim.Adam(
            module.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        x_t = torch.from_numpy(Xs)
        y_t = torch.from_numpy(labels.astype(np.float32))
        a_t = torch.from_numpy(arm_index.astype(np.int64))
        generator = torch.Generator().manual_seed(self.seed_)
        train, valid = self._validation_split(len(Xs), arm_index)
        batch = max(1, min(int(self.batch_size), len(train)))
        # the weights that are evaluated and kept: the trained ones, or their moving average
        kept = copy.deepcopy(module) if getattr(self, "weight_average", False) else module
        decay = 1.0 - 1.0 / math.ceil(len(train) / batch)  # an average over about one epoch
        best_loss, best_state, stale = np.inf, None, 0
        self.n_epochs_, self.best_epoch_ = 0, 0
        bar = self._progress(math.ceil(len(train) / batch))
        for epoch in range(1, int(self.epochs) + 1):
            self.n_epochs_ = epoch
            module.train()
            order = train[torch.randperm(len(train), generator=generator)]
            for start in range(0, len(order), batch):
                rows = order[start : start + batch]
                optimiser.zero_grad()
                loss = self._loss(module, x_t[rows], y_t[rows], a_t[rows])
                loss.backward()
                optimiser.step()
                if kept is not module:
                    moving_average(kept, module, decay)
                bar.update(1)
            if valid is None:
                self.best_epoch_ = epoch  # no validation rows: the last epoch is kept
                continue
            kept.eval()
            with torch.no_grad():
                valid_loss = float(self._loss(kept, x_t[valid], y_t[valid], a_t[valid]))
            if valid_loss < best_loss - 1e-6:
                best_loss, stale, self.best_epoch_ = valid_loss, 0, epoch
                best_state = {k: v.detach().clone() for k, v in kept.state_dict().items()}
            else:
                stale += 1
            bar.set_postfix(epoch=epoch, val_loss=f"{valid_loss:.5f}", best_epoch=self.best_epoch_)
            if stale >= int(self.patience):
                break
        bar.close()
        if best_state is not None:
            kept.load_state_dict(best_state)
        kept.eval()
        self.module_ = kept.double()  # float64 inference: row-order invariant to 1e-12

    def _progress(self, batches_per_epoch: int) -> Any:
        """A progress bar over the training batches of every epoch when ``verbose`` (tqdm on a
        terminal; in a log file a line every 30 s, none for a fit that took less)."""
        from shopml.progress import progress_bar

        return progress_bar(
            total=int(self.epochs) * batches_per_epoch,
            desc=f"{type(self).__name__} training (at most {int(self.epochs)} epochs)",
            unit="batches",
            leave=False,
            silent_if_short=True,
            disable=not getattr(self, "verbose", False),
        )

    def _seed(self) -> int:
        """The fit's seed, as scikit-learn reads ``random_state``: a whole number is the seed,
        None draws a fresh one, a RandomState draws one from itself (kept as ``seed_``)."""
        from sklearn.utils import check_random_state

        if self.random_state is not None and not isinstance(
            self.random_state, np.random.RandomState
        ):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _validation_split(self, n: int, arm_index: np.ndarray) -> tuple:
        """Training rows and early-stopping rows (``validation_fraction`` of each arm)."""
        import torch

        fraction = float(self.validation_fraction)
        rng = np.random.default_rng(self.seed_)
        order = rng.permutation(n)
        if fraction <= 0 or n < 50:
            return torch.from_numpy(order), None
        is_valid = np.zeros(n, dtype=bool)
        for arm in np.unique(arm_index):
            rows = order[arm_index[order] == arm]
            is_valid[rows[: int(len(rows) * fraction)]] = True
        return (
            torch.from_numpy(np.flatnonzero(~is_valid)),
            torch.from_numpy(np.flatnonzero(is_valid)),
        )

    def predict_outcomes(self, X: Any) -> np.ndarray:
        """Expected outcome under every arm and stage, shape (n, arms + 1, stages)."""
        return self._outcomes(self._validate_predict(X))

    def _outcomes(self, X: np.ndarray) -> np.ndarray:
        import torch

        Xs = torch.from_numpy((X - self.mean_) / self.scale_)
        with torch.no_grad():
            outs = [self.module_(Xs[i : i + 8192]) for i in range(0, len(Xs), 8192)]
        out = torch.cat(outs).numpy().astype(np.float64) if outs else np.zeros((0, 1, 1))
        if self.binary_:
            return 1.0 / (1.0 + np.exp(-out))
        return out * self.y_scale_ + self.y_mean_

    def _stage_uplift(self, outcomes: np.ndarray, stage: int) -> np.ndarray:
        return outcomes[:, 1:, stage] - outcomes[:, :1, stage]

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return self._stage_uplift(self._outcomes(X), -1)
