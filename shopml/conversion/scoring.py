"""Scoring clicks with the network a stream run ended with.

:func:`shopml.conversion.trainer.run_stream` returns a :class:`StreamResult` that keeps the
trained network, its method and the feature cardinalities it was built for.
:func:`score_clicks` predicts p(pay | click) and p(net conversion | click) for the clicks of any
log with the same declared categorical features, e.g. the clicks of the day after the stream
ended. The prediction is the method's own (FNC's calibration, TESLA's CVR × (1 − RFR), ...),
exactly as the stream's evaluation computed it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from shopml.conversion.trainer import StreamResult, predict_clicks
from shopml.data.eventlog import EventLog


def score_clicks(result: StreamResult, log: EventLog, batch_size: int = 65536) -> pd.DataFrame:
    """``click_id``, ``p_cvr`` and ``p_netcvr`` of every click of ``log`` (in its row order)
    from the network ``result``'s run ended with."""
    if result.model is None or result.stream_method is None or result.cardinalities is None:
        raise ValueError(
            f"the result of {result.method!r} keeps no trained network (a StreamResult "
            "built by hand, or by a shopml before 2026-12-01): rerun run_stream"
        )
    features = _matching_codes(log, result.cardinalities)
    x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.int64))
    rows = np.arange(len(x))
    p_cvr, p_net = predict_clicks(result.model, result.stream_method, x, rows, batch_size)
    return pd.DataFrame({"click_id": log.column("click_id"), "p_cvr": p_cvr, "p_netcvr": p_net})


def _matching_codes(log: EventLog, cardinalities: list[int]) -> np.ndarray:
    """The log's categorical codes, refused unless its features match the trained network's."""
    features, cards = log.categorical_codes("scoring clicks")
    if list(cards) != list(cardinalities):
        names = [f.name for f in log.spec.by_kind("categorical")]
        raise ValueError(
            f"the log's categorical features (cardinalities {dict(zip(names, cards, strict=True))})"
            f" are not the ones the network was trained on (cardinalities {list(cardinalities)}):"
            " score a log with the training log's spec.json"
        )
    return features
