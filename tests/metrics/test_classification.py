"""Classification metrics against scikit-learn, a per-group loop reference and TESLA's table."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

from shopml.metrics import (
    MetricInputError,
    auc,
    group_auc,
    nll,
    pcoc,
    pr_auc,
    ri_auc,
    ri_prauc,
)

SEEDS = range(6)


def random_case(seed: int, n: int = 2_000) -> dict[str, np.ndarray]:
    """Labels, scores with many ties (rounded), weights with some zeros, probabilities."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.3).astype(int)
    scores = np.round(rng.normal(size=n) + labels, seed % 3)  # 0, 1 or 2 decimals -> ties
    weights = rng.random(n) * (rng.random(n) > 0.1)
    probs = 1 / (1 + np.exp(-rng.normal(scale=4, size=n)))
    probs[:6] = [0.0, 1.0, 1e-17, 1 - 1e-17, 1e-300, 0.5]
    return {"y": labels, "s": scores, "w": weights, "p": probs}


@pytest.mark.parametrize("seed", SEEDS)
def test_auc_matches_sklearn(seed):
    case = random_case(seed)
    assert auc(case["y"], case["s"]) == pytest.approx(roc_auc_score(case["y"], case["s"]), abs=1e-9)
    assert auc(case["y"], case["s"], sample_weight=case["w"]) == pytest.approx(
        roc_auc_score(case["y"], case["s"], sample_weight=case["w"]), abs=1e-9
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_pr_auc_matches_sklearn(seed):
    case = random_case(seed)
    assert pr_auc(case["y"], case["s"]) == pytest.approx(
        average_precision_score(case["y"], case["s"]), abs=1e-9
    )
    assert pr_auc(case["y"], case["s"], sample_weight=case["w"]) == pytest.approx(
        average_precision_score(case["y"], case["s"], sample_weight=case["w"]), abs=1e-9
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_nll_matches_sklearn_including_clipping(seed):
    case = random_case(seed)
    assert nll(case["y"], case["p"]) == pytest.approx(log_loss(case["y"], case["p"]), abs=1e-9)
    assert nll(case["y"], case["p"], sample_weight=case["w"]) == pytest.approx(
        log_loss(case["y"], case["p"], sample_weight=case["w"]), abs=1e-9
    )


def test_nll_clipping_and_explicit_eps():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.0, 1.0, 0.5, 0.5])
    eps64 = np.finfo(np.float64).eps
    expected = (-np.log(eps64) * 2 + 2 * np.log(2)) / 4
    assert nll(y, p) == pytest.approx(expected, rel=1e-12)
    assert nll(y, p, eps=1e-15) == pytest.approx((-np.log(1e-15) * 2 + 2 * np.log(2)) / 4)
    # float32 input clips at float32's epsilon, as sklearn does
    eps32 = float(np.finfo(np.float32).eps)
    assert nll(y, p.astype(np.float32)) == pytest.approx(
        (-np.log(eps32) * 2 + 2 * np.log(2)) / 4, rel=1e-6
    )


def test_auc_and_pr_auc_hand_computed():
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    assert auc(y, s) == pytest.approx(0.75)
    # thresholds 0.8 (P=1, R=0.5), 0.4 (P=1/2), 0.35 (P=2/3, R=1)
    assert pr_auc(y, s) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # one tied (positive, negative) pair counts one half
    assert auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert auc([0, 1, 0], [0.2, 0.5, 0.5], sample_weight=[1, 1, 3]) == pytest.approx(
        (1 * 1 + 0.5 * 3) / 4
    )


def test_pcoc():
    assert pcoc([0, 1, 1, 0], [0.2, 0.6, 0.4, 0.3]) == pytest.approx(1.5 / 2)


def loop_gauc(y, s, g, weighting="impressions"):
    """Reference: per-group sklearn AUC over groups with both classes, mean weighted by size."""
    values, weights = [], []
    for key in np.unique(g):
        mask = g == key
        if len(np.unique(y[mask])) == 2:
            values.append(roc_auc_score(y[mask], s[mask]))
            weights.append(mask.sum() if weighting == "impressions" else 1)
    return np.average(values, weights=weights)


@pytest.mark.parametrize("seed", range(3))
def test_group_auc_matches_loop(seed):
    rng = np.random.default_rng(seed)
    n = 1_500
    groups = rng.integers(0, 50, n)
    y = (rng.random(n) < 0.2 + 0.006 * groups).astype(int)
    s = np.round(rng.random(n) + 0.3 * y, 1)  # ties inside groups
    assert group_auc(y, s, groups) == pytest.approx(loop_gauc(y, s, groups), abs=1e-12)
    assert group_auc(y, s, groups, weighting="uniform") == pytest.approx(
        loop_gauc(y, s, groups, "uniform"), abs=1e-12
    )
    # string group keys give the same result
    assert group_auc(y, s, groups.astype(str)) == pytest.approx(loop_gauc(y, s, groups))


def test_group_auc_skips_single_class_groups():
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    s = np.array([0.9, 0.1, 0.5, 0.6, 0.2, 0.3, 0.1, 0.8])
    g = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
    # a: AUC 1 (2 rows), b and c single-class (skipped), d: AUC 0 (2 rows)
    assert group_auc(y, s, g) == pytest.approx(0.5)
    g2 = np.array(["a", "a", "a", "b", "b", "b", "b", "b"])
    # a: positives {0.9, 0.5} vs negative 0.1 -> 1; b: positives {0.6, 0.1}, negatives {0.2, 0.3, 0.8}
    auc_b = (2 + 0) / 6
    assert group_auc(y, s, g2) == pytest.approx((3 * 1 + 5 * auc_b) / 8)


def test_ri_matches_tesla_table():
    # TESLA Table 2 (arXiv:2601.19965): CVR AUC pretrained 0.7223, oracle 0.7556, TESLA 0.7479
    assert round(100 * ri_auc(0.7479, 0.7223, 0.7556), 2) == 76.88
    assert round(100 * ri_auc(0.7588, 0.7353, 0.7643), 2) == 81.03  # NetCVR
    assert round(100 * ri_prauc(0.1939, 0.1768, 0.2007), 2) == 71.55  # CVR PR-AUC
    with pytest.raises(MetricInputError, match="oracle equals pretrained"):
        ri_auc(0.7, 0.7, 0.7)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: auc([0, 1, 1], [0.1, 0.2]), "length mismatch"),
        (lambda: auc([0, 1], [0.1, np.nan]), "NaN"),
        (lambda: auc([0, 2], [0.1, 0.2]), "0/1"),
        (lambda: auc([], []), "empty"),
        (lambda: auc([1, 1, 1], [0.1, 0.2, 0.3]), "single class"),
        (lambda: auc([0, 1], [0.1, 0.2], sample_weight=[1, -1]), "non-negative"),
        (lambda: auc([0, 1], [0.1, 0.2], sample_weight=[0, 1]), "single class"),
        (lambda: pr_auc([0, 0], [0.1, 0.2]), "no positives"),
        (lambda: nll([0, 1], [0.1, 1.2]), r"\[0, 1\]"),
        (lambda: nll([0, 1], [0.1, np.inf]), "infinite"),
        (lambda: pcoc([0, 0], [0.1, 0.2]), "sums to zero"),
        (lambda: pcoc([0, 1, 1], [0.4, -0.5, 0.9]), "y_prob must be non-negative.*row 1"),
        (lambda: group_auc([0, 1], [0.1, 0.2], ["a", "b"]), "no group"),
        (lambda: group_auc([0, 1], [0.1, 0.2], ["a"]), "length mismatch"),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()
