"""Training the attribute heads on the Fashion Product Images photos and measuring them.

Protocol: the items with a photo are split by a seeded random permutation into train (70 %),
validation (10 %, early stopping only) and held-out test (20 %). Each attribute's classes with
fewer than ``min_count`` training items are grouped into ``"other"`` (the heads can then say
"some rarer type" instead of guessing a frequent one); labels that are null or ``"NA"`` are
unknown and excluded from that attribute's loss and metrics. Top-1 and top-3 accuracy are
measured on the test items with a known label, on the grouped labels, with the weights as
stored in the artifact (float16; the hidden layer's matrix as int8 rows with a scale each). The pixel-colour check (:func:`shopml.vision.colour.pixel_colour`)
is scored on the same test items against the raw baseColour labels. The head settings
(:class:`HeadConfig` defaults) were chosen on inner splits of partial subsets of the photos,
never on this test split (see docs/listing.md for the caveat).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from shopml.listing.attributes.heads import HeadConfig, predict_proba, train_heads
from shopml.listing.attributes.predictor import (
    ARTIFACT_FORMAT,
    ATTRIBUTES,
    OTHER_LABEL,
    compact_state,
    expand_state,
)

SOURCE_COLUMNS = {
    "masterCategory": "master_category",
    "subCategory": "sub_category",
    "articleType": "article_type",
    "baseColour": "base_colour",
    "gender": "gender",
    "usage": "usage",
    "season": "season",
}
TEST_SHARE = 0.2
VAL_SHARE = 0.1
MIN_COUNT = 10
UNKNOWN_VALUES = {"", "NA", "N/A", "nan", "None"}


def metric_prefix(attribute: str) -> str:
    """Snake-case metric prefix of an attribute (articleType -> articletype)."""
    return attribute.lower()


def load_labels(data_dir: Path | str | None = None) -> pd.DataFrame:
    """item_id, image_path and the ATTRIBUTES columns (None for unknown) of the photographed items."""
    from shopml.data.loaders.catalogs import fashion_images
    from shopml.data.samples import sample_path

    directory = Path(data_dir) if data_dir is not None else sample_path("fashion_images")
    table = fashion_images(directory, with_images_only=True).to_pandas()
    frame = pd.DataFrame(
        {"item_id": table["item_id"], "image_path": table["image_path"].astype(str)}
    )
    for attribute, column in SOURCE_COLUMNS.items():
        values = table[column].astype(object).where(table[column].notna(), None)
        values = values.map(
            lambda v: None if v is None or str(v).strip() in UNKNOWN_VALUES else str(v).strip()
        )
        frame[attribute] = values
    return frame.reset_index(drop=True)  # the styles file's order: splits depend on it


def split_items(n: int, seed: int) -> dict[str, np.ndarray]:
    """Seeded random train / val / test row indices (70 / 10 / 20 %)."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = round(n * TEST_SHARE)
    n_val = round(n * VAL_SHARE)
    return {
        "test": np.sort(order[:n_test]),
        "val": np.sort(order[n_test : n_test + n_val]),
        "train": np.sort(order[n_test + n_val :]),
    }


def build_vocab(train_labels: pd.Series, min_count: int) -> list[str]:
    """Classes with at least min_count training items (by frequency, then name), plus 'other'."""
    counts = train_labels.dropna().value_counts()
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    kept = [str(c) for c, k in counts.items() if k >= min_count]
    if (counts < min_count).any():
        kept.append(OTHER_LABEL)
    return kept


def encode_labels(labels: pd.Series, vocab: list[str]) -> np.ndarray:
    """Class indices (rare -> 'other', unknown -> -1)."""
    index = {name: i for i, name in enumerate(vocab)}
    other = index.get(OTHER_LABEL, -1)
    codes = labels.map(index).astype("Float64")
    known = labels.notna().to_numpy()
    out = codes.fillna(other).to_numpy(dtype=np.int64, na_value=other)
    return np.where(known, out, -1).astype(np.int64)


def topk_accuracy(proba: np.ndarray, y: np.ndarray, k: int) -> float:
    """Share of rows with a known label (y >= 0) whose label is among the k most probable."""
    known = y >= 0
    if not known.any():
        return float("nan")
    top = np.argsort(-proba[known], axis=1, kind="stable")[:, :k]
    return float((top == y[known, None]).any(axis=1).mean())


def fit_heads(
    x: np.ndarray,
    labels: pd.DataFrame,
    split: dict[str, np.ndarray],
    seed: int = 0,
    config: HeadConfig | None = None,
    min_count: int = MIN_COUNT,
    attributes: list[str] | None = None,
    progress: bool = False,
) -> dict:
    """Train heads on precomputed features and score them; the artifact blob and its metrics."""

    config = config or HeadConfig()
    attributes = attributes or [a for a in ATTRIBUTES if a in labels.columns]
    train, val, test = split["train"], split["val"], split["test"]
    vocab = {a: build_vocab(labels[a].iloc[train], min_count) for a in attributes}
    y = {a: encode_labels(labels[a], vocab[a]) for a in attributes}
    model, history = train_heads(
        x[train],
        {a: y[a][train] for a in attributes},
        x[val],
        {a: y[a][val] for a in attributes},
        {a: len(vocab[a]) for a in attributes},
        config,
        seed,
        progress=progress,
    )
    stored = compact_state(model.state_dict())
    model.load_state_dict(expand_state(stored))
    model.eval()
    proba = predict_proba(model, x[test])
    metrics: dict[str, float] = {}
    for a in attributes:
        p = metric_prefix(a)
        yt = y[a][test]
        metrics[f"{p}_top1"] = topk_accuracy(proba[a], yt, 1)
        metrics[f"{p}_top3"] = topk_accuracy(proba[a], yt, 3)
        known = yt >= 0
        other = vocab[a].index(OTHER_LABEL) if OTHER_LABEL in vocab[a] else -2
        metrics[f"{p}_other_share"] = float((yt[known] == other).mean()) if known.any() else 0.0
        metrics[f"{p}_classes"] = float(len(vocab[a]))
    blob = {
        "format": ARTIFACT_FORMAT,
        "config": {
            "input_dim": int(x.shape[1]),
            "heads": asdict(config),
            "seed": int(seed),
            "min_count": int(min_count),
            "split": {k: len(v) for k, v in split.items()},
            "best_epoch": int(history["best_epoch"]),
        },
        "vocab": vocab,
        "state_dict": stored,
        "metrics": metrics,
    }
    return {
        "blob": blob,
        "metrics": metrics,
        "model": model,
        "proba": proba,
        "y": y,
        "vocab": vocab,
    }


def pixel_colour_agreement(
    paths: list[str], labels: list[str | None], progress: bool = False
) -> dict:
    """Share of photos whose pixel colour equals the baseColour label (known labels only)."""
    from shopml.vision.colour import CHECK_COLOURS, pixel_colour

    known = [(p, lab) for p, lab in zip(paths, labels, strict=True) if lab is not None]
    iterator = known
    if progress:
        from shopml.progress import progress_bar

        iterator = progress_bar(known, desc="pixel colour check", unit="img")
    hits = 0
    in_palette = 0
    for path, label in iterator:
        name, _ = pixel_colour(path)
        hits += name == label
        in_palette += label in CHECK_COLOURS
    n = max(len(known), 1)
    return {"agreement": hits / n, "n": len(known), "label_in_palette_share": in_palette / n}


def train_attributes(
    data_dir: Path | str | None = None,
    out: Path | str | None = None,
    seed: int = 0,
    config: HeadConfig | None = None,
    min_count: int = MIN_COUNT,
    limit: int | None = None,
    progress: bool = False,
    colour_check: bool = True,
) -> dict:
    """Extract (cached) features, train the heads, save the artifact; held-out metrics and facts."""
    import torch

    from shopml.listing.attributes.features import COLOUR_VERSION, head_inputs
    from shopml.vision.encoder import ImageEncoder

    labels = load_labels(data_dir)
    if limit is not None:
        keep = np.sort(np.random.default_rng(seed).permutation(len(labels))[:limit])
        labels = labels.iloc[keep].reset_index(drop=True)
    encoder = ImageEncoder.shared()
    x = head_inputs(labels["image_path"].tolist(), encoder, progress=progress)
    split = split_items(len(labels), seed)
    fitted = fit_heads(
        x, labels, split, seed=seed, config=config, min_count=min_count, progress=progress
    )
    blob, metrics = fitted["blob"], fitted["metrics"]
    blob["config"].update(
        {
            "encoder": encoder.name,
            "feature_version": encoder.version,
            "colour_version": COLOUR_VERSION,
            "items": len(labels),
            "limit": limit,
        }
    )
    check = None
    if colour_check:
        test = split["test"]
        check = pixel_colour_agreement(
            labels["image_path"].iloc[test].tolist(),
            labels["baseColour"].iloc[test].tolist(),
            progress,
        )
        metrics["pixel_colour_agreement"] = check["agreement"]
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        torch.save(blob, out)
    return {
        "metrics": metrics,
        "config": blob["config"],
        "vocab": blob["vocab"],
        "pixel_colour": check,
        "artifact": str(out) if out is not None else None,
    }
