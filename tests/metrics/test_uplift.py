"""Uplift metrics against scikit-uplift 0.5.1 (sklift.metrics) and hand-computed curves.

sklift 0.5.1 imports and runs with scikit-learn 1.9 and pandas 3 (it only warns that
``sklearn.utils.extmath.stable_cumsum`` and ``set_index(inplace=...)`` are deprecated), so the
comparisons call it directly. Where sklift itself fails we check against hand-computed values
or our explicit error instead: ``uplift_by_percentile(total=True, string_percentiles=False)``
raises inside pandas 3, and ``negative_effect=False`` with a negative overall uplift makes its
perfect Qini curve non-monotone so sklearn's ``auc`` raises.
"""

import numpy as np
import pytest
from sklift import metrics as sklift_metrics

from shopml.metrics import (
    MetricInputError,
    ate_error,
    auuc,
    binary_arm,
    pehe,
    perfect_qini_curve,
    perfect_uplift_curve,
    plot_qini,
    plot_uplift_curve,
    qini,
    qini_auc_score,
    qini_curve,
    uplift_at_k,
    uplift_auc_score,
    uplift_by_percentile,
    uplift_curve,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore::FutureWarning", "ignore::RuntimeWarning", "ignore:The inplace keyword"
)

SEEDS = range(6)


def random_case(seed: int, n: int = 1_500) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcome with a positive average effect, treatment 0/1, predicted uplift with ties."""
    rng = np.random.default_rng(seed)
    treatment = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    y = (rng.random(n) < 0.25 + treatment * (0.1 + 0.1 * np.tanh(x))).astype(int)
    uplift = np.round(x + rng.normal(scale=0.7, size=n), 1)
    return y, uplift, treatment


def assert_curves_equal(ours, theirs):
    assert ours[0].shape == theirs[0].shape
    np.testing.assert_allclose(ours[0], theirs[0], atol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], atol=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_curves_match_sklift(seed):
    y, u, t = random_case(seed)
    assert_curves_equal(uplift_curve(y, u, t), sklift_metrics.uplift_curve(y, u, t))
    assert_curves_equal(qini_curve(y, u, t), sklift_metrics.qini_curve(y, u, t))
    assert_curves_equal(perfect_uplift_curve(y, t), sklift_metrics.perfect_uplift_curve(y, t))
    for negative_effect in (True, False):
        assert_curves_equal(
            perfect_qini_curve(y, t, negative_effect),
            sklift_metrics.perfect_qini_curve(y, t, negative_effect),
        )


@pytest.mark.parametrize("seed", SEEDS)
def test_scores_match_sklift(seed):
    y, u, t = random_case(seed)
    assert uplift_auc_score(y, u, t) == pytest.approx(
        sklift_metrics.uplift_auc_score(y, u, t), abs=1e-6
    )
    for negative_effect in (True, False):
        assert qini_auc_score(y, u, t, negative_effect=negative_effect) == pytest.approx(
            sklift_metrics.qini_auc_score(y, u, t, negative_effect=negative_effect), abs=1e-6
        )
    assert auuc is uplift_auc_score
    assert qini is qini_auc_score


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("strategy", ["overall", "by_group"])
@pytest.mark.parametrize("k", [0.1, 0.3, 0.77, 40, 500])
def test_uplift_at_k_matches_sklift(seed, strategy, k):
    y, u, t = random_case(seed)
    expected = sklift_metrics.uplift_at_k(y, u, t, strategy=strategy, k=k)
    assert uplift_at_k(y, u, t, k=k, strategy=strategy) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("strategy", ["overall", "by_group"])
@pytest.mark.parametrize("bins", [3, 10])
def test_uplift_by_percentile_matches_sklift(seed, strategy, bins):
    y, u, t = random_case(seed)
    ours = uplift_by_percentile(y, u, t, strategy=strategy, bins=bins, std=True)
    theirs = sklift_metrics.uplift_by_percentile(y, u, t, strategy=strategy, bins=bins, std=True)
    assert list(ours.columns) == list(theirs.columns)
    assert list(ours.index) == list(theirs.index)
    assert ours.index.name == "percentile"
    np.testing.assert_allclose(ours.to_numpy(float), theirs.to_numpy(float), atol=1e-6)


def test_uplift_by_percentile_total_row():
    y, u, t = random_case(0)
    ours = uplift_by_percentile(y, u, t, total=True)
    theirs = sklift_metrics.uplift_by_percentile(y, u, t, total=True)
    assert list(ours.index) == list(theirs.index)
    np.testing.assert_allclose(ours.to_numpy(float), theirs.to_numpy(float), atol=1e-6)
    # sklift 0.5.1 fails here under pandas 3 (it writes "total" into an int column)
    numeric = uplift_by_percentile(y, u, t, total=True, string_percentiles=False)
    assert list(numeric.index) == [*range(10, 101, 10), "total"]
    np.testing.assert_allclose(numeric.to_numpy(float), ours.to_numpy(float))
    assert numeric.loc["total", "n_treatment"] == int(t.sum())


def test_curves_hand_computed():
    y = [1, 0, 1, 0]
    t = [1, 1, 0, 0]
    u = [0.9, 0.8, 0.7, 0.6]
    x, q = qini_curve(y, u, t)
    np.testing.assert_array_equal(x, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(q, [0, 1, 1, -1, 0])
    _, up = uplift_curve(y, u, t)
    np.testing.assert_allclose(up, [0, 1, 1, -1.5, 0])
    # tied scores collapse into one curve point
    x_tied, q_tied = qini_curve(y, [0.9, 0.5, 0.5, 0.1], t)
    np.testing.assert_array_equal(x_tied, [0, 1, 3, 4])
    np.testing.assert_allclose(q_tied, [0, 1, -1, 0])


def test_uplift_at_k_hand_computed():
    y = [1, 0, 1, 0, 1, 1]
    t = [1, 0, 1, 0, 0, 1]
    u = [6, 5, 4, 3, 2, 1]
    # top 4: treated responders 2/2, control responders 0/2
    assert uplift_at_k(y, u, t, k=4) == pytest.approx(1.0)
    # by group, top 2 of each: treated rows (6, 4) -> 1.0; control rows (5, 3) -> 0.0
    assert uplift_at_k(y, u, t, k=2, strategy="by_group") == pytest.approx(1.0)


def test_binary_arm_selects_control_and_one_arm():
    arms = np.array([0, 1, 2, 2, 0, 1])
    np.testing.assert_array_equal(binary_arm(arms, 2), [True, False, True, True, True, False])
    with pytest.raises(MetricInputError, match="does not occur"):
        binary_arm(arms, 3)
    with pytest.raises(MetricInputError, match="control code"):
        binary_arm(arms, 0)
    with pytest.raises(MetricInputError, match="binary_arm"):
        qini_auc_score([0, 1, 0, 1, 1, 0], [1, 2, 3, 4, 5, 6], arms)


def test_pehe_and_ate_error():
    tau_true = np.array([0.1, 0.2, 0.3, 0.4])
    tau_pred = np.array([0.1, 0.4, 0.3, 0.0])
    assert pehe(tau_true, tau_pred) == pytest.approx(np.sqrt((0.04 + 0.16) / 4))
    assert ate_error(tau_true, tau_pred) == pytest.approx(abs(0.2 - 0.25))


def test_pehe_and_ate_error_of_several_arms_as_the_benchmark_reports_them():
    tau_true = np.array([[0.1, 0.0], [0.2, 0.1], [0.3, 0.2], [0.4, 0.3]])
    tau_pred = np.array([[0.1, 0.1], [0.4, 0.1], [0.3, 0.2], [0.0, 0.3]])
    # every unit and arm at once; the mean over arms of each arm's ATE error
    assert pehe(tau_true, tau_pred) == pytest.approx(np.sqrt((0.04 + 0.16 + 0.01) / 8))
    assert ate_error(tau_true, tau_pred) == pytest.approx((0.05 + 0.025) / 2)
    assert pehe(tau_true[:, :1], tau_pred[:, :1]) == pehe(tau_true[:, 0], tau_pred[:, 0])
    with pytest.raises(MetricInputError, match=r"shape \(4, 2\) and tau_pred \(4,\)"):
        pehe(tau_true, tau_pred[:, 0])
    with pytest.raises(MetricInputError, match=r"tau_pred\[:, 1\] contains 1 NaN"):
        ate_error(tau_true, np.where(tau_pred == 0.2, np.nan, tau_pred))


def test_plots_write_png(tmp_path):
    y, u, t = random_case(1)
    for plot, name in ((plot_qini, "qini.png"), (plot_uplift_curve, "uplift.png")):
        path = plot(y, u, t, tmp_path / "plots" / name)
        assert path == tmp_path / "plots" / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: qini_auc_score([0, 1, 1], [0.1, 0.2, 0.3], [0, 1]), "length mismatch"),
        (lambda: qini_auc_score([0, 1], [0.1, np.nan], [0, 1]), "NaN"),
        (lambda: qini_auc_score([0, 3], [0.1, 0.2], [0, 1]), "0/1"),
        (lambda: qini_auc_score([0, 1], [0.1, 0.2], [1, 1]), "no control"),
        (lambda: uplift_curve([], [], []), "empty"),
        (lambda: uplift_at_k([0, 1, 1, 0], [1, 2, 3, 4], [0, 1, 0, 1], k=1.5), r"\(0, 1\)"),
        (lambda: uplift_at_k([0, 1, 1, 0], [1, 2, 3, 4], [0, 1, 0, 1], k=4), "count"),
        (lambda: uplift_at_k([0, 1, 1, 0], [1, 2, 3, 4], [0, 1, 0, 1], strategy="x"), "strategy"),
        (lambda: uplift_at_k([0, 1, 1, 0], [1, 2, 3, 4], [0, 0, 1, 1], k=2), "no control"),
        (lambda: uplift_by_percentile([0, 1, 1, 0], [1, 2, 3, 4], [0, 1, 0, 1], bins=4), "bins"),
        (lambda: uplift_auc_score([0, 0, 0, 0], [1, 2, 3, 4], [0, 1, 0, 1]), "undefined"),
        (
            # control converts more than treated: sklift's auc() fails on this perfect curve
            lambda: qini_auc_score([0, 0, 1, 1], [1, 2, 3, 4], [1, 1, 0, 0], negative_effect=False),
            "non-negative overall uplift",
        ),
    ],
)
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()
