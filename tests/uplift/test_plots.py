"""Uplift plots: input checked before any file is written; the decile chart's predicted bars."""

from __future__ import annotations

import numpy as np
import pytest

from shopml.metrics import MetricInputError
from shopml.uplift.plots import decile_bars, save_uplift_plots


def _scores(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, n), rng.normal(size=n), np.arange(n) % 2


def test_too_few_rows_for_the_decile_chart_writes_nothing(tmp_path):
    """Before: the Qini and uplift PNGs were written, then the decile chart failed."""
    y, u, t = _scores(8)
    with pytest.raises(MetricInputError, match="decile chart needs more than 10 rows; got 8"):
        save_uplift_plots(y, u, t, tmp_path / "plots", "demo")
    assert not (tmp_path / "plots").exists()


def test_out_dir_that_is_a_file_is_named(tmp_path):
    y, u, t = _scores(400)
    (tmp_path / "taken").write_text("")
    with pytest.raises(MetricInputError, match="taken is a file, not a directory"):
        save_uplift_plots(y, u, t, tmp_path / "taken", "demo")


def test_decile_bars_of_a_one_column_prediction_rank_the_scores():
    """A single arm's predict() is (n, 1): its predicted bars are those of the 1-D scores
    (before: np.sort along the length-1 axis left them unsorted)."""
    y, u, t = _scores(400)
    table_1d, predicted_1d = decile_bars(y, u, t)
    table_2d, predicted_2d = decile_bars(y, u.reshape(-1, 1), t)
    np.testing.assert_allclose(predicted_2d, predicted_1d)
    assert np.all(np.diff(predicted_1d) <= 0)  # highest decile first
    np.testing.assert_allclose(table_2d.to_numpy(float), table_1d.to_numpy(float))
