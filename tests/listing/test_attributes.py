"""Attribute heads: labels, vocabularies, metrics, seeded reproducibility, the artifact round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from shopml.listing.attributes import (
    ATTRIBUTES,
    DEFAULT_ARTIFACT,
    OTHER_LABEL,
    ArtifactError,
    AttributePrediction,
    AttributePredictor,
)
from shopml.listing.attributes.heads import HeadConfig
from shopml.listing.attributes.train import (
    build_vocab,
    encode_labels,
    fit_heads,
    split_items,
    topk_accuracy,
)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: thread hand-offs cost more than they save on a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


TINY = HeadConfig(hidden=8, dropout=0.0, epochs=6, batch_size=32, patience=100)


def test_vocab_groups_rare_classes_into_other():
    labels = pd.Series(["a"] * 5 + ["b"] * 3 + ["c"] * 2 + [None, "d"])
    vocab = build_vocab(labels, min_count=3)
    assert vocab == ["a", "b", OTHER_LABEL]
    assert encode_labels(labels, vocab).tolist() == [0] * 5 + [1] * 3 + [2, 2, -1, 2]
    assert build_vocab(pd.Series(["x", "y", "x", "y"]), min_count=2) == ["x", "y"]  # ties by name


def test_topk_accuracy_by_hand():
    proba = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.4, 0.35, 0.25], [0.2, 0.3, 0.5]])
    y = np.array([0, 1, 1, -1])  # last row unknown: ignored
    assert topk_accuracy(proba, y, 1) == pytest.approx(1 / 3)
    assert topk_accuracy(proba, y, 2) == pytest.approx(3 / 3)


def test_split_is_seeded_and_disjoint():
    a, b = split_items(100, 7), split_items(100, 7)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert [len(a[k]) for k in ("train", "val", "test")] == [70, 10, 20]
    assert len(np.unique(np.concatenate(list(a.values())))) == 100
    assert not np.array_equal(split_items(100, 8)["test"], a["test"])


def synthetic(n: int = 240, seed: int = 0):
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 3, n)
    colour = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 12)).astype(np.float32)
    x[:, 0] += 4 * kind
    x[:, 1] += 4 * colour
    labels = pd.DataFrame(
        {
            "articleType": np.array(["Shirts", "Jeans", "Watches"])[kind],
            "baseColour": np.array(["Black", "White"])[colour].astype(object),
        }
    )
    labels.loc[:3, "baseColour"] = None  # unknown labels are skipped
    return x, labels


def test_training_is_reproducible_from_the_seed():
    x, labels = synthetic()
    split = split_items(len(x), 3)
    first = fit_heads(x, labels, split, seed=3, config=TINY)
    second = fit_heads(x, labels, split, seed=3, config=TINY)
    other = fit_heads(x, labels, split, seed=4, config=TINY)
    state1, state2 = first["blob"]["state_dict"], second["blob"]["state_dict"]
    assert state1.keys() == state2.keys()
    assert all(torch.equal(state1[k], state2[k]) for k in state1)
    assert first["metrics"] == second["metrics"]
    stored = "hidden.weight.int8"  # the hidden matrix is stored as int8 rows
    assert not torch.equal(state1[stored], other["blob"]["state_dict"][stored])


def test_heads_learn_separable_attributes_and_round_trip(tmp_path):
    x, labels = synthetic(400)
    fitted = fit_heads(
        x,
        labels,
        split_items(len(x), 0),
        seed=0,
        config=HeadConfig(hidden=16, lr=1e-2, epochs=60, patience=100),
    )
    assert fitted["metrics"]["articletype_top1"] >= 0.9
    assert fitted["metrics"]["basecolour_top1"] >= 0.9
    assert fitted["metrics"]["articletype_top3"] == 1.0
    assert fitted["metrics"]["articletype_classes"] == 3.0
    path = tmp_path / "heads.pt"
    torch.save(fitted["blob"], path)
    predictor = AttributePredictor.load(path)
    assert predictor.attributes == ["articleType", "baseColour"]
    out = predictor.predict_features(x[:2])
    assert set(out[0]) == {"articleType", "baseColour"}
    pred = out[0]["articleType"]
    assert isinstance(pred, AttributePrediction)
    assert pred.label == labels["articleType"][0]
    assert pred.top[0] == (pred.label, pred.probability)
    assert len(pred.top) == 3 and sum(p for _, p in pred.top) == pytest.approx(1.0, abs=1e-5)


def test_missing_or_foreign_artifact(tmp_path):
    with pytest.raises(ArtifactError, match="train-attributes"):
        AttributePredictor.load(tmp_path / "none.pt")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(ArtifactError, match=r"not a shopml-attribute-heads/1 or shopml-attribute-heads/2 artifact"):
        AttributePredictor.load(foreign)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    with pytest.raises(ArtifactError, match="not a readable"):
        AttributePredictor.load(junk)


def test_int8_rows_round_trip_within_half_a_step_and_format_1_still_loads(tmp_path):
    from shopml.listing.attributes.predictor import compact_state, expand_state

    rng = np.random.default_rng(0)
    weight = torch.from_numpy(rng.normal(size=(4, 50)).astype(np.float32))
    weight[2] = 0.0  # an all-zero row must not divide by zero
    state = {"hidden.weight": weight, "hidden.bias": torch.ones(4)}
    stored = compact_state(state)
    assert stored["hidden.weight.int8"].dtype == torch.int8
    assert stored["hidden.bias"].dtype == torch.float16
    back = expand_state(stored)
    step = stored["hidden.weight.row_scale"].float()
    assert ((back["hidden.weight"] - weight).abs() <= step / 2 + 1e-3 * step).all()
    assert back["hidden.weight"][2].eq(0).all()
    assert torch.equal(back["hidden.bias"], torch.ones(4))
    # an artifact of the earlier format (every tensor float16) is still read
    old = torch.load(DEFAULT_ARTIFACT, weights_only=True)
    old["format"] = "shopml-attribute-heads/1"
    old["state_dict"] = {k: v.half() for k, v in expand_state(old["state_dict"]).items()}
    torch.save(old, tmp_path / "v1.pt")
    assert AttributePredictor.load(tmp_path / "v1.pt").attributes == ATTRIBUTES


def test_default_artifact_is_small_and_complete():
    assert DEFAULT_ARTIFACT.stat().st_size < 1_048_576  # under the repository's 1 MiB rule
    predictor = AttributePredictor.load()
    assert predictor.attributes == ATTRIBUTES
    assert predictor.meta["config"]["feature_version"] == predictor.encoder.version
