"""Uplift plots saved as PNG: Qini curve, uplift curve and uplift by decile (matplotlib, Agg).

The curves come from :mod:`shopml.metrics.uplift` (``plot_qini``, ``plot_uplift_curve``, each
with its perfect and random references); the decile chart shows, per tenth of the ranking by
predicted uplift, the observed treated − control response rate with its binomial standard
error (``uplift_by_percentile``) beside the mean predicted uplift of that tenth.
``save_uplift_plots`` checks its input for all three charts before it writes any of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopml.metrics.classification import MetricInputError
from shopml.metrics.uplift import (
    _check_uplift_inputs,
    plot_qini,
    plot_uplift_curve,
    qini_auc_score,
    uplift_auc_score,
    uplift_by_percentile,
)

DECILES = 10


def decile_bars(y_true: Any, uplift: Any, treatment: Any) -> tuple[pd.DataFrame, np.ndarray]:
    """The decile chart's data: ``uplift_by_percentile`` (with s.e.) and the mean predicted
    uplift of each tenth of the ranking, highest first (needs more than 10 rows)."""
    labels, scores, treated = _check_uplift_inputs(y_true, uplift, treatment)
    if len(scores) <= DECILES:
        raise MetricInputError(
            f"the uplift-by-decile chart needs more than {DECILES} rows; got {len(scores)}"
        )
    table = uplift_by_percentile(labels, scores, treated, bins=DECILES, std=True)
    ranked = np.sort(scores)[::-1]
    predicted = np.array([part.mean() for part in np.array_split(ranked, DECILES)])
    return table, predicted


def plot_uplift_by_decile(
    y_true: Any, uplift: Any, treatment: Any, path: str | Path, title: str | None = None
) -> Path:
    """Bar chart of observed uplift (± 1 s.e.) and mean predicted uplift per decile; PNG path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table, predicted = decile_bars(y_true, uplift, treatment)
    figure = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    x = np.arange(DECILES)
    axes.bar(
        x - 0.2, table["uplift"], width=0.4, yerr=table["std_uplift"], label="observed", capsize=2
    )
    axes.bar(x + 0.2, predicted, width=0.4, label="predicted (mean)")
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_xticks(x, list(table.index), rotation=45)
    axes.set_xlabel("percentile of predicted uplift (highest first)")
    axes.set_ylabel("treated − control response rate")
    axes.set_title(title or "uplift by decile")
    axes.legend(loc="best")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png", bbox_inches="tight")
    return out


def save_uplift_plots(
    y_true: Any, uplift: Any, treatment: Any, out_dir: str | Path, stem: str, label: str = ""
) -> list[Path]:
    """Qini curve, uplift curve and uplift-by-decile PNGs for one binary arm; their paths.

    Every input is checked (for all three charts) before any file is written."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise MetricInputError(f"out_dir {out} is a file, not a directory")
    qini_auc_score(y_true, uplift, treatment)  # raise here, not after a first PNG is written
    uplift_auc_score(y_true, uplift, treatment)
    decile_bars(y_true, uplift, treatment)
    return [
        plot_qini(y_true, uplift, treatment, out / f"{stem}-qini.png", title=f"Qini: {label}"),
        plot_uplift_curve(
            y_true, uplift, treatment, out / f"{stem}-uplift.png", title=f"uplift curve: {label}"
        ),
        plot_uplift_by_decile(
            y_true, uplift, treatment, out / f"{stem}-deciles.png", title=f"by decile: {label}"
        ),
    ]
