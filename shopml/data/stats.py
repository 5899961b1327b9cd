"""Summary statistics of an event log, shaped like CASCADE's statistics table."""

from __future__ import annotations

from typing import Any

import numpy as np

from shopml.data.eventlog import EventLog

DAY = 86_400
DEFAULT_WINDOW_S = 3 * DAY


def _windows(log: EventLog) -> tuple[float, float]:
    meta = log.spec.meta
    conversion = float(meta.get("conversion_window_s", DEFAULT_WINDOW_S))
    refund = float(meta.get("refund_window_s", DEFAULT_WINDOW_S))
    return conversion, refund


_TIME_STATS = (
    "duration_days",
    "conversion_window_h",
    "median_pay_delay_h",
    "share_pay_after_15min",
    "refund_window_h",
    "median_refund_delay_h",
)


def data_stats(
    log: EventLog, conversion_window: float | None = None, refund_window: float | None = None
) -> dict[str, Any]:
    """Users, items, clicks, conversions, CVR, refunds, refund share, median delays, duration
    (users / items None for a log whose format has no user / item ids; durations, windows and
    delays None for one whose times are nominal, ``spec.meta["times_known"] = False``)."""
    default_conv, default_ref = _windows(log)
    conv_w = conversion_window if conversion_window is not None else default_conv
    ref_w = refund_window if refund_window is not None else default_ref
    ts = log.column("ts")
    n = log.n_clicks
    kinds = set(log.events.column("kind").unique().to_pylist()) if log.events.num_rows else set()
    known = log.spec.meta.get("ids_known", {})  # a format without ids: None, not a count of 1
    stats: dict[str, Any] = {
        "users": len(np.unique(log.column("user_id"))) if known.get("user", True) else None,
        "items": len(np.unique(log.column("item_id"))) if known.get("item", True) else None,
        "clicks": int(n),
        "duration_days": float((ts.max() - ts.min()) / DAY) if n else 0.0,
        "conversion_window_h": conv_w / 3600,
    }
    if "pay" in kinds:
        pay_delay = log.conversion_delay(conv_w)
        converted = ~np.isnan(pay_delay)
        n_conv = int(converted.sum())
        counts, gmv = log.purchases(conv_w)
        stats.update(
            conversions=n_conv,
            cvr=n_conv / n if n else float("nan"),
            median_pay_delay_h=float(np.median(pay_delay[converted]) / 3600) if n_conv else None,
            share_pay_after_15min=float((pay_delay[converted] > 900).mean()) if n_conv else None,
            purchases=int(counts.sum()),
            repurchase_share=float((counts[converted] > 1).mean()) if n_conv else None,
            gmv=float(gmv.sum()) if log.spec.meta.get("amounts_known", True) else None,
        )
        if "refund" in kinds:
            refund_delay = log.refund_delay(conv_w, ref_w)
            refunded = ~np.isnan(refund_delay)
            n_ref = int(refunded.sum())
            stats.update(
                refund_window_h=ref_w / 3600,
                refunds=n_ref,
                refund_share=n_ref / n_conv if n_conv else None,
                net_conversions=n_conv - n_ref,
                net_cvr=(n_conv - n_ref) / n if n else None,
                median_refund_delay_h=float(np.median(refund_delay[refunded]) / 3600)
                if n_ref
                else None,
            )
    for kind in sorted(kinds - {"pay", "refund"}):
        stats[f"{kind}_events"] = int(
            np.sum(log.events.column("kind").to_numpy(zero_copy_only=False) == kind)
        )
    if log.touchpoints is not None:
        stats["touchpoints"] = log.touchpoints.num_rows
    if log.conversions is not None:
        stats["journey_conversions"] = log.conversions.num_rows
    if "treatment" in log.clicks.column_names:
        arms, counts = np.unique(log.column("treatment"), return_counts=True)
        stats["treatment_arms"] = {int(a): int(c) for a, c in zip(arms, counts, strict=True)}
    if not log.spec.meta.get("times_known", True):  # nominal times: no durations or delays
        for key in _TIME_STATS:
            if key in stats:
                stats[key] = None
    return stats
