"""Evaluation metrics: vectorised NumPy, O(n log n), checked inputs (``MetricInputError``).

Classification (``shopml.metrics.classification``):

- ``auc``: ROC AUC, P(score of a positive > score of a negative), ties 1/2, weighted; equals
  ``sklearn.metrics.roc_auc_score``.
- ``pr_auc``: average precision, sum over thresholds of (recall gain x precision); equals
  ``sklearn.metrics.average_precision_score``.
- ``nll``: mean log loss with sklearn's clipping (machine epsilon of the dtype); equals
  ``sklearn.metrics.log_loss``.
- ``pcoc``: sum(predicted) / sum(observed) conversions (1 = calibrated), as in TESLA.
- ``group_auc``: GAUC, impression-weighted mean of per-group AUC over groups with both classes
  (Zhou et al., Deep Interest Network, KDD 2018).
- ``ri_auc`` / ``ri_prauc``: (metric_method - metric_pretrained) / (metric_oracle -
  metric_pretrained) as a fraction; TESLA (Luo et al., WWW 2026, arXiv:2601.19965) reports it
  x 100 as a percent.

Regression (``shopml.metrics.regression``), as in READER / TRACE (Li et al., WWW 2026,
arXiv:2601.20307) for post-click GMV:

- ``regression_auc``: share of pairs with different true values whose predictions are ordered
  alike (prediction ties 1/2).
- ``acc_within``: share of rows with |pred - true| / true <= tol (0.2 in the paper).
- ``alpr``: mean |log2(pred / true)|.
- ``rmse``: root mean squared error.

Uplift (``shopml.metrics.uplift``), equal to scikit-uplift's ``sklift.metrics``:

- ``uplift_curve`` / ``perfect_uplift_curve``: (treated rate - control rate) x rows targeted
  (Devriendt et al., arXiv:2002.05897).
- ``qini_curve`` / ``perfect_qini_curve``: treated responders - control responders x N_t / N_c
  (Radcliffe 2007).
- ``uplift_auc_score`` (``auuc``) and ``qini_auc_score`` (``qini``): area between the curve and
  the random diagonal over the same area of the perfect curve.
- ``uplift_at_k``: treated minus control response rate in the top k by predicted uplift.
- ``uplift_by_percentile``: sizes, response rates and uplift per score bin (DataFrame).
- ``pehe``: sqrt(mean((tau_true - tau_pred)^2)) (Hill 2011); ``ate_error``: |mean(tau_pred) -
  mean(tau_true)|.
- ``binary_arm``: mask selecting control plus one arm of a multi-arm experiment.
- ``plot_qini`` / ``plot_uplift_curve``: PNG of the curve with perfect and random references.
"""

from shopml.metrics.classification import (
    MetricInputError,
    auc,
    group_auc,
    nll,
    pcoc,
    pr_auc,
    ri_auc,
    ri_prauc,
)
from shopml.metrics.regression import acc_within, alpr, regression_auc, rmse
from shopml.metrics.uplift import (
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

__all__ = [
    "MetricInputError",
    "acc_within",
    "alpr",
    "ate_error",
    "auc",
    "auuc",
    "binary_arm",
    "group_auc",
    "nll",
    "pcoc",
    "pehe",
    "perfect_qini_curve",
    "perfect_uplift_curve",
    "plot_qini",
    "plot_uplift_curve",
    "pr_auc",
    "qini",
    "qini_auc_score",
    "qini_curve",
    "regression_auc",
    "ri_auc",
    "ri_prauc",
    "rmse",
    "uplift_at_k",
    "uplift_auc_score",
    "uplift_by_percentile",
    "uplift_curve",
]
