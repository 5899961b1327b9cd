"""Uplift plots saved as PNG: Qini curve, uplift curve and uplift by decile (matplotlib, Agg).

The curves come from :mod:`shopml.metrics.uplift` (``plot_qini``, ``plot_uplift_curve``, each
with its perfect and random references); the decile chart shows, per tenth of the ranking by
predicted uplift, the observed treated − control response rate with its binomial standard
error (``uplift_by_percentile``) beside the mean predicted uplift of that tenth.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shopml.metrics.uplift import plot_qini, plot_uplift_curve, uplift_by_percentile


def plot_uplift_by_decile(
    y_true: Any, uplift: Any, treatment: Any, path: str | Path, title: str | None = None
) -> Path:
    """Bar chart of observed uplift (± 1 s.e.) and mean predicted uplift per decile; PNG path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table = uplift_by_percentile(y_true, uplift, treatment, bins=10, std=True)
    scores = np.sort(np.asarray(uplift, dtype=np.float64))[::-1]
    predicted = [part.mean() for part in np.array_split(scores, 10)]
    figure = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    x = np.arange(10)
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
    """Qini curve, uplift curve and uplift-by-decile PNGs for one binary arm; their paths."""
    out = Path(out_dir)
    return [
        plot_qini(y_true, uplift, treatment, out / f"{stem}-qini.png", title=f"Qini: {label}"),
        plot_uplift_curve(
            y_true, uplift, treatment, out / f"{stem}-uplift.png", title=f"uplift curve: {label}"
        ),
        plot_uplift_by_decile(
            y_true, uplift, treatment, out / f"{stem}-deciles.png", title=f"by decile: {label}"
        ),
    ]
