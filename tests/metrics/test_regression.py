"""GMV regression metrics: pairwise AUC vs brute force, hand-computed ACC / ALPR / RMSE."""

import numpy as np
import pytest
from scipy.stats import kendalltau
from sklearn.metrics import roc_auc_score

from shopml.metrics import acc_within, alpr, regression_auc, rmse
from shopml.metrics.regression import _count_inversions


def brute_regression_auc(y_true, y_pred):
    """O(n^2) reference: pairs with y_i < y_j, prediction ordered alike 1, tied 1/2."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    lower = y_true[:, None] < y_true[None, :]
    agree = (y_pred[:, None] < y_pred[None, :]) + 0.5 * (y_pred[:, None] == y_pred[None, :])
    return agree[lower].sum() / lower.sum()


@pytest.mark.parametrize("seed", range(25))
def test_regression_auc_matches_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    y = rng.integers(0, int(rng.integers(2, 12)), n).astype(float)
    if len(np.unique(y)) < 2:
        y[0] = y.max() + 1
    pred = np.round(y * rng.random() + rng.normal(size=n), int(rng.integers(0, 2)))
    assert regression_auc(y, pred) == pytest.approx(brute_regression_auc(y, pred), abs=1e-12)


def test_regression_auc_reference_points():
    y = np.arange(10.0)
    assert regression_auc(y, y * 3) == 1.0
    assert regression_auc(y, -y) == 0.0
    assert regression_auc(y, np.ones(10)) == 0.5
    # with binary truth it is the ROC AUC
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.random(500) + 0.5 * labels, 1)
    assert regression_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))


def test_regression_auc_large_without_ties_matches_kendall_tau():
    # without ties, concordant share = (1 + tau) / 2
    rng = np.random.default_rng(0)
    y = rng.lognormal(size=200_000)
    pred = y * rng.lognormal(sigma=0.8, size=y.size)
    tau = kendalltau(y, pred).statistic
    assert regression_auc(y, pred) == pytest.approx((1 + tau) / 2, abs=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_count_inversions(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, int(rng.integers(1, 70)), int(rng.integers(1, 120)))
    expected = sum(int((values[i] > values[i + 1 :]).sum()) for i in range(len(values)))
    assert _count_inversions(values) == expected


def test_acc_within_hand_computed():
    y = [100, 100, 50, 10]
    pred = [110, 130, 40, 12]  # relative errors 0.1, 0.3, 0.2, 0.2
    assert acc_within(y, pred) == 0.75
    assert acc_within(y, pred, tol=0.1) == 0.25
    assert acc_within(y, pred, tol=0.3) == 1.0


def test_alpr_hand_computed():
    assert alpr([1, 2, 4], [2, 1, 4]) == pytest.approx(2 / 3)
    assert alpr([1, 2], [0, 2], floor=0.5) == pytest.approx(0.5)


def test_rmse():
    assert rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(np.sqrt(4 / 3))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: regression_auc([1, 1, 1], [1, 2, 3]), "all y_true values are equal"),
        (lambda: regression_auc([1, 2], [1, np.nan]), "NaN"),
        (lambda: regression_auc([1, 2, 3], [1, 2]), "length mismatch"),
        (lambda: regression_auc([], []), "empty"),
        (lambda: acc_within([0, 1], [1, 1]), "y_true > 0"),
        (lambda: alpr([1, 1], [0, 1]), "y_pred > 0"),
        (lambda: alpr([-1, 1], [1, 1]), "y_true > 0"),
        (lambda: alpr([1, 1], [1, 1], floor=0), "floor must be positive"),
        (lambda: rmse([1.0], [np.inf]), "infinite"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()
