"""The frozen true-negative / delayed-positive classifier: labels, loss and fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from shopml.conversion.base import get_method
from shopml.conversion.stream import StreamSplit
from shopml.conversion.timeline import Timeline, Windows
from shopml.conversion.window_classifier import (
    fit_window_classifier,
    window_classifier_loss,
    window_labels,
)
from shopml.data.eventlog import NO_EVENT

WINDOWS = Windows(
    conversion_attribution_s=1000,
    refund_attribution_s=1000,
    conversion_observation_s=100,
    refund_observation_s=100,
)


def test_window_labels_by_hand():
    # clicks: paid at +50 (immediate), paid at +500 (delayed), never paid
    tl = Timeline(
        np.array([0, 10, 20]), np.array([50, 510, NO_EVENT]), np.full(3, NO_EVENT)
    )
    tn, mask, dp = window_labels(tl, WINDOWS, np.arange(3))
    assert tn.tolist() == [0, 0, 1]
    assert mask.tolist() == [0, 1, 1]  # the immediate positive is not an observed negative
    assert dp.tolist() == [0, 1, 0]


def test_loss_by_hand():
    logits = torch.tensor([[0.5, -1.0], [2.0, 0.3]])
    tn = torch.tensor([1.0, 0.0])
    mask = torch.tensor([0.0, 1.0])
    dp = torch.tensor([0.0, 1.0])

    def nll(v: float, y: float) -> float:
        p = 1 / (1 + math.exp(-v))
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))

    want = nll(2.0, 0.0) + (nll(-1.0, 0.0) + nll(0.3, 1.0)) / 2
    assert window_classifier_loss(logits, tn, mask, dp).item() == pytest.approx(want, rel=1e-5)


def test_fit_learns_the_rates_per_feature():
    # feature 0 -> never pays; feature 1 -> pays late half the time, else never
    rng = np.random.default_rng(0)
    n = 6000
    x = rng.integers(0, 2, n)
    click = np.sort(rng.integers(0, 50_000, n)).astype(np.int64)
    pays = (x == 1) & (rng.random(n) < 0.5)
    pay = np.where(pays, click + 500, NO_EVENT)
    tl = Timeline(click, pay, np.full(n, NO_EVENT))
    split = StreamSplit(0, 50_000, 50_000, 60_000, 100)
    torch.manual_seed(5)
    before = torch.get_rng_state()
    aux = fit_window_classifier(x[:, None], tl, WINDOWS, split, {"classifier_epochs": 10, "classifier_batch": 256})
    assert torch.equal(torch.get_rng_state(), before)
    tn, dp = aux["p_true_neg"], aux["p_delayed_pos"]
    assert tn.shape == dp.shape == (n,)
    assert tn[x == 0].mean() == pytest.approx(1.0, abs=0.05)
    assert tn[x == 1].mean() == pytest.approx(0.5, abs=0.06)
    assert dp[x == 0].mean() == pytest.approx(0.0, abs=0.05)
    assert dp[x == 1].mean() == pytest.approx(0.5, abs=0.06)


def test_needs_delayed_positives():
    tl = Timeline(np.array([0, 10]), np.array([20, NO_EVENT]), np.full(2, NO_EVENT))
    with pytest.raises(ValueError, match="no delayed positives"):
        fit_window_classifier(
            np.zeros((2, 1), np.int64), tl, WINDOWS, StreamSplit(0, 50, 50, 100, 10), {}
        )


@pytest.mark.parametrize("name", ["esdfm", "defuse", "ddfm"])
def test_prepare_adds_classifier_outputs_unless_model_weights(name):
    rng = np.random.default_rng(1)
    n = 500
    features = rng.integers(0, 3, size=(n, 2)).astype(np.int64)
    click = np.sort(rng.integers(0, 4000, n)).astype(np.int64)
    paid = rng.random(n) < 0.5
    pay = np.where(paid, click + rng.integers(1, 900, n), NO_EVENT)
    tl = Timeline(click, pay, np.full(n, NO_EVENT))
    split = StreamSplit(0, 2000, 2000, 4000, 100)
    aux = get_method(name, delay_epochs=1, classifier_epochs=1).prepare(
        features, tl, WINDOWS, split
    )
    assert {"p_pay_late", "p_true_neg", "p_delayed_pos"} <= set(aux)
    aux = get_method(name, delay_epochs=1, weights_from="model").prepare(
        features, tl, WINDOWS, split
    )
    assert set(aux) == {"p_pay_late"}
