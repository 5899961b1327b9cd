"""Official file layouts (CASCADE, TRACE, Criteo data.txt): written from small worlds and
read back with pandas the way the official code reads them."""

import ast
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shopml.data import EventLog, Feature, FeatureSpec
from shopml.data.schema import EVENTS_SCHEMA
from shopml.data.simulate import SimResult, format_names, simulate, write
from shopml.data.simulate.formats import (
    CRITEO_CAT_SOURCES,
    CRITEO_INT_SOURCES,
    TRACE_COLUMNS,
    FormatError,
)
from shopml.data.simulate.world import NETCVR_BIN_SIZES, ONLINEGMV_BIN_SIZES, STANDARD_FIELDS

DAY = 86_400
FIELDS = [f.name for f in STANDARD_FIELDS]


@pytest.fixture(scope="module")
def cascade():
    return simulate("cascade", 20_000, 3)


def test_registered():
    assert {"shopml", "cascade", "trace", "criteo"} <= set(format_names())


def test_cascade_processed_layout(cascade, tmp_path):
    paths = write(cascade, tmp_path, "cascade")
    assert [p.name for p in paths] == ["processed_data_expand.txt", "cascade_raw.txt"]
    df = pd.read_csv(paths[0], sep="\t", header=None)  # as NetCVR get_data_df
    assert df.shape == (20_000, 25)
    assert all(pd.api.types.is_integer_dtype(t) for t in df.dtypes)
    log, start = cascade.log, cascade.log.spec.meta["start_ts"]
    click, pay, refund = (df[c].to_numpy() for c in (0, 1, 2))
    assert np.array_equal(click, log.column("ts") - start)
    paid = pay > 0
    assert paid.mean() == pytest.approx(log.converted(3 * DAY).mean())
    assert ((pay[paid] - click[paid]) < 3 * DAY).all() and (pay[~paid] == -1).all()
    ref = refund > 0
    assert (ref <= paid).all() and ((refund[ref] - pay[ref]) < 3 * DAY).all()
    for k in range(22):
        assert df[3 + k].min() >= 0 and df[3 + k].max() < NETCVR_BIN_SIZES[k]
        assert np.array_equal(df[3 + k].to_numpy(), log.column(FIELDS[k]))


def test_cascade_raw_layout(cascade, tmp_path):
    raw = pd.read_csv(write(cascade, tmp_path, "cascade")[1], sep="\t", header=None)
    assert raw.shape == (20_000, 25)
    pays = raw[1].map(ast.literal_eval)
    assert set(pays.map(len)) == {0, 1}
    first = pays.map(lambda x: x[0] if x else -1).to_numpy()
    start = cascade.log.spec.meta["start_ts"]
    processed = pd.read_csv(tmp_path / "processed_data_expand.txt", sep="\t", header=None)
    assert np.array_equal(np.where(first > 0, first - start, -1), processed[1].to_numpy())


def test_trace_layout(tmp_path):
    world = simulate("trace", 30_000, 4)
    (path,) = write(world, tmp_path, "trace")
    assert path.name == "trace.txt"
    df = pd.read_csv(path, sep="\t")  # as OnlineGMV get_pretrain_data_df
    assert list(df.columns) == TRACE_COLUMNS
    log = world.log
    count, gmv = log.purchases(7 * DAY)
    assert len(df) == (count > 0).sum()
    lists = {c: df[c].map(ast.literal_eval) for c in
             ("pay_time", "dirpay_amt", "count", "prev_pay_time", "prev_dirpay_amt")}  # fmt: skip
    k = df["total_counts"].to_numpy()
    for col, values in lists.items():
        assert np.array_equal(values.map(len).to_numpy(), k), col
    assert np.array_equal(df["multi_tag"].to_numpy(), (k > 1).astype(int))
    assert all(c == list(range(1, n + 1)) for c, n in zip(lists["count"], k, strict=True))
    assert np.allclose(lists["dirpay_amt"].map(sum).to_numpy(), gmv[count > 0])
    first_pay = lists["pay_time"].map(lambda x: x[0]).to_numpy()
    last_pay = lists["pay_time"].map(lambda x: x[-1]).to_numpy()
    click = df["click_time"].to_numpy()
    assert (first_pay > click).all() and (last_pay - click < 7 * DAY).all()
    assert (lists["prev_pay_time"].map(lambda x: x[0]).to_numpy() == click).all()
    assert all(
        p[1:] == t[:-1] for p, t in zip(lists["prev_pay_time"], lists["pay_time"], strict=True)
    )
    assert all(p[0] == 0.0 for p in lists["prev_dirpay_amt"])
    for j in range(22):
        assert df[f"feature_{j}"].max() < ONLINEGMV_BIN_SIZES[j]
    assert click.max() < 82 * DAY


def test_criteo_layout(cascade, tmp_path):
    (path,) = write(cascade, tmp_path, "criteo")
    assert path.name == "data.txt"
    df = pd.read_csv(path, sep="\t", header=None)  # as ES-DFM get_data_df
    assert df.shape == (20_000, 19)
    log, start = cascade.log, cascade.log.spec.meta["start_ts"]
    assert np.array_equal(df[0].to_numpy(), log.column("ts") - start)
    conv = df[1].fillna(-1).to_numpy()
    assert ((conv > 0) == log.converted(3 * DAY).astype(bool)).all()
    assert ((conv[conv > 0] - df[0].to_numpy()[conv > 0]) > 0).all()
    for j, name in enumerate(CRITEO_INT_SOURCES):
        assert np.array_equal(df[2 + j].to_numpy(), log.column(name))
    for j in range(len(CRITEO_CAT_SOURCES)):
        col = df[10 + j].astype(str)
        assert col.str.fullmatch(r"[0-9A-F]{8}").all()
    # the hash is a function of the value: same item id, same string
    items = log.column("item_id")
    pairs = pd.DataFrame({"item": items, "hex": df[10]}).drop_duplicates()
    assert pairs["item"].is_unique


def test_layout_needs_standard_fields(tmp_path):
    spec = FeatureSpec(features=[Feature(name="u_0", kind="categorical", vocab_size=2)])
    clicks = pa.table(
        {
            "click_id": pa.array([0], pa.int64()),
            "ts": pa.array([1_735_689_600], pa.int64()),
            "user_id": pa.array([0], pa.int64()),
            "item_id": pa.array([0], pa.int64()),
            "u_0": pa.array([1], pa.int64()),
        }
    )
    result = SimResult(EventLog(clicks, EVENTS_SCHEMA.empty_table(), spec), pa.table({"x": [1]}))
    for fmt in ("cascade", "trace", "criteo"):
        with pytest.raises(FormatError, match="22 standard fields"):
            write(result, tmp_path, fmt)
    with pytest.raises(ValueError, match="unknown format"):
        write(result, tmp_path, "nope")


def test_standard_field_presets_are_exactly_those_with_the_22_fields():
    from shopml.data.simulate import presets, simulate
    from shopml.data.simulate.formats import FIELD_NAMES, STANDARD_FIELD_PRESETS

    with_fields = [
        name
        for name in presets()
        if set(FIELD_NAMES) <= set(simulate(name, 300, seed=0).log.clicks.column_names)
    ]
    assert sorted(with_fields) == sorted(STANDARD_FIELD_PRESETS)


def test_parse_preset_params_reads_json_values_and_names_bad_items():
    from shopml.data.simulate import parse_preset_params

    assert parse_preset_params(["drift_sd=0.7", "n_days=10", "flag=true"]) == {
        "drift_sd": 0.7,
        "n_days": 10,
        "flag": True,
    }
    assert parse_preset_params([]) == {}
    with pytest.raises(ValueError, match="must look like NAME=VALUE, got 'drift_sd'"):
        parse_preset_params(["drift_sd"])
    with pytest.raises(ValueError, match="must look like NAME=VALUE, got '=1'"):
        parse_preset_params(["=1"])
    with pytest.raises(ValueError, match="drift_sd: 'high' is not a number or JSON value"):
        parse_preset_params(["drift_sd=high"])
    assert parse_preset_params(["drift_sd=0"], numbers_only=True) == {"drift_sd": 0.0}
    for raw in ("[1]", "true", '"a"'):
        with pytest.raises(ValueError, match=re.escape(f"drift_sd: '{raw}' is not a number")):
            parse_preset_params([f"drift_sd={raw}"], numbers_only=True)
