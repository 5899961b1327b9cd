"""benchmarks/efin_diagnosis.py: the per-arm binary wrapper and the binary tasks of check 4."""

from typing import ClassVar

import numpy as np
import pytest

from tests.conversion import load_benchmark


class _MeanDifference:
    """A binary uplift 'estimator' that records its rows and predicts its groups' difference."""

    fitted: ClassVar[list] = []

    def fit(self, X, y, treatment):
        assert set(np.unique(treatment)) <= {0, 1}
        self.rows = X[:, 0].copy()
        self.effect = y[treatment == 1].mean() - y[treatment == 0].mean()
        _MeanDifference.fitted.append(self)
        return self

    def predict(self, X):
        return np.full((len(X), 1), self.effect)


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    treatment = rng.integers(0, 3, n)
    X = np.column_stack([np.arange(n), rng.normal(size=n)]).astype(float)
    y = (rng.random(n) < np.array([0.1, 0.5, 0.3])[treatment]).astype(float)
    return X, y, treatment


def test_binary_per_arm_fits_each_arm_on_control_and_that_arm_only():
    bench = load_benchmark("efin_diagnosis")
    X, y, treatment = _data()
    _MeanDifference.fitted = []
    model = bench.BinaryPerArm(_MeanDifference).fit(X, y, treatment)
    first, second = _MeanDifference.fitted
    np.testing.assert_array_equal(first.rows, np.flatnonzero(np.isin(treatment, (0, 1))))
    np.testing.assert_array_equal(second.rows, np.flatnonzero(np.isin(treatment, (0, 2))))
    uplift = model.predict(X[:5])
    assert uplift.shape == (5, 2)
    for arm in (1, 2):
        expected = y[treatment == arm].mean() - y[treatment == 0].mean()
        np.testing.assert_allclose(uplift[:, arm - 1], expected)


def test_binary_tasks_score_each_arm_on_its_two_groups():
    bench = load_benchmark("efin_diagnosis")
    X, y, treatment = _data()
    train, test = np.arange(400), np.arange(400, 600)
    tau = np.column_stack([np.full(600, 0.4), np.full(600, 0.2)])
    model = bench.BinaryPerArm(_MeanDifference).fit(X[train], y[train], treatment[train])
    scores = bench.binary_tasks({"mean": model}, X, treatment, tau, test)
    assert list(scores) == ["arm1", "arm2"]
    for arm, key in ((1, "arm1"), (2, "arm2")):
        np.testing.assert_allclose(scores[key]["zero_effect"], tau[0, arm - 1])
        fit_rows = train[np.isin(treatment[train], (0, arm))]
        effect = y[fit_rows][treatment[fit_rows] == arm].mean() - y[fit_rows][
            treatment[fit_rows] == 0
        ].mean()
        np.testing.assert_allclose(scores[key]["mean"], abs(effect - tau[0, arm - 1]))


class _Logistic:
    """A fitted-once 'estimator' whose outcome probabilities depend on its state."""

    def __init__(self, state):
        self.state = state

    def fit(self, X, y, treatment):
        return self

    def predict_outcomes(self, X):
        p0 = np.full(len(X), 0.2)
        p1 = 0.2 + 0.1 * self.state * X[:, 1] / (1 + np.abs(X[:, 1]))
        return np.stack([p0, p1], axis=1)[:, :, None]

    def predict(self, X):
        out = self.predict_outcomes(X)[:, :, 0]
        return out[:, 1:] - out[:, :1]


def test_logit_effect_sd_is_the_spread_of_the_logit_difference():
    bench = load_benchmark("efin_diagnosis")
    p0 = np.array([0.1, 0.2, 0.3])
    p1 = np.array([0.2, 0.2, 0.6])
    expected = np.std(np.log(p1 / (1 - p1)) - np.log(p0 / (1 - p0)))
    np.testing.assert_allclose(bench.logit_effect_sd(np.column_stack([p0, p1])), [expected])


def test_init_spread_scores_each_state_and_the_mean_of_their_effects():
    bench = load_benchmark("efin_diagnosis")
    X, y, _ = _data()
    treatment = (np.arange(len(X)) % 2).astype(int)
    train, test = np.arange(400), np.arange(400, 600)
    truth = np.zeros((200, 1))
    out = bench.init_spread(_Logistic, X, y, treatment, train, test, truth, [0, 2])
    assert list(out["per_init"]) == ["0", "2"]
    assert out["per_init"]["0"]["pehe"] == 0.0  # state 0 predicts no effect
    assert out["per_init"]["0"]["logit_effect_sd"] == [0.0]
    effect_2 = _Logistic(2).predict(X[test])
    np.testing.assert_allclose(out["per_init"]["2"]["pehe"], np.sqrt(np.mean(effect_2**2)))
    np.testing.assert_allclose(out["mean_prediction_pehe"], np.sqrt(np.mean((effect_2 / 2) ** 2)))


def test_parse_int_range_reads_ranges_and_lists():
    from shopml.cli_support import parse_int_range

    assert parse_int_range("0..3") == [0, 1, 2, 3]
    assert parse_int_range("0,5") == [0, 5]
    assert parse_int_range("") == []
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_int_range("3..1")


def test_efin_variants_group_parameters_by_name_and_reject_bad_ones():
    bench = load_benchmark("efin_diagnosis")
    variants = bench.efin_variants(
        ["lr.learning_rate=5e-3", "lr.batch_size=128", "plain.constraint_weight=0", "x.arm_towers=False"]
    )
    assert variants == {
        "efin_lr": {"learning_rate": 5e-3, "batch_size": 128},
        "efin_plain": {"constraint_weight": 0},
        "efin_x": {"arm_towers": False},
    }
    assert bench.efin_variants([]) == {}
    for bad, message in (
        ("lr=5e-3", "NAME.PARAM=VALUE"),
        (".learning_rate=1", "NAME.PARAM=VALUE"),
        ("lr.rate=1", "no parameter 'rate'"),
        ("lr.learning_rate=fast", "not a number"),
    ):
        with pytest.raises(ValueError, match=message):
            bench.efin_variants([bad])
