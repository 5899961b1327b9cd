"""benchmarks/efin_diagnosis.py: the per-arm binary wrapper and the binary tasks of check 4."""

from typing import ClassVar

import numpy as np

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
