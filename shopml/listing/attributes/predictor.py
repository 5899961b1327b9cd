"""Predicting listing attributes from photos with the trained heads (see :mod:`.heads`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shopml.vision.encoder import EncoderInput, ImageEncoder

ATTRIBUTES = [
    "masterCategory",
    "subCategory",
    "articleType",
    "baseColour",
    "gender",
    "usage",
    "season",
]
"""Attributes predicted from a photo (Fashion Product Images ``styles.csv`` column names)."""

OTHER_LABEL = "other"
"""Label standing for the classes too rare to learn (grouped at training time)."""

DEFAULT_ARTIFACT = Path(__file__).resolve().parent / "artifact" / "attributes.pt"
"""The heads shipped in the package, reproducible by ``shopml listing train-attributes``."""

ARTIFACT_FORMAT = "shopml-attribute-heads/2"
#: Formats :meth:`AttributePredictor.load` reads: /1 stores every tensor as float16, /2 the
#: same except the (hidden, input) matrix, stored as int8 rows with one float16 scale each.
READABLE_FORMATS = ("shopml-attribute-heads/1", ARTIFACT_FORMAT)
#: Weight matrices stored as int8 rows (the bulk of the artifact: 256 x 2134).
INT8_WEIGHTS = ("hidden.weight",)


def compact_state(state: dict) -> dict:
    """The state dict as stored: float16 tensors, the :data:`INT8_WEIGHTS` as int8 rows plus a
    float16 scale per row (``<name>.int8`` and ``<name>.row_scale``; symmetric, max |w| → 127)."""
    import torch

    stored = {}
    for name, value in state.items():
        value = value.detach().float()
        if name in INT8_WEIGHTS:
            scale = (value.abs().amax(dim=1, keepdim=True) / 127).clamp(min=1e-12).half()
            stored[f"{name}.int8"] = torch.round(value / scale.float()).clamp(-127, 127).to(torch.int8)
            stored[f"{name}.row_scale"] = scale
        else:
            stored[name] = value.half()
    return stored


def expand_state(stored: dict) -> dict:
    """The float32 state dict of a stored one (either format)."""
    state = {}
    for name, value in stored.items():
        if name.endswith(".row_scale"):
            continue
        if name.endswith(".int8"):
            base = name[: -len(".int8")]
            state[base] = value.float() * stored[f"{base}.row_scale"].float()
        else:
            state[name] = value.float()
    return state


class ArtifactError(RuntimeError):
    """An attribute-heads artifact that is missing, unreadable or of another format."""


@dataclass
class AttributePrediction:
    """One attribute's predicted label, its probability and the top alternatives."""

    label: str
    probability: float
    top: list[tuple[str, float]] = field(default_factory=list)

    def to_json(self) -> dict:
        """JSON-ready dict: label, probability, top [[label, probability], ...]."""
        return {
            "label": self.label,
            "probability": round(float(self.probability), 6),
            "top": [[name, round(float(p), 6)] for name, p in self.top],
        }


class AttributePredictor:
    """Frozen EfficientNet-Lite0 features + trained attribute heads."""

    def __init__(
        self, model, vocab: dict[str, list[str]], meta: dict, encoder: ImageEncoder | None = None
    ):
        self.model = model
        self.vocab = vocab
        self.meta = meta
        self._encoder = encoder

    @property
    def attributes(self) -> list[str]:
        """The attributes this predictor outputs, in ATTRIBUTES order."""
        return [a for a in ATTRIBUTES if a in self.vocab]

    @property
    def encoder(self) -> ImageEncoder:
        """The image encoder (the process-wide one unless given)."""
        if self._encoder is None:
            self._encoder = ImageEncoder.shared()
        return self._encoder

    @classmethod
    def load(
        cls, path: Path | str | None = None, encoder: ImageEncoder | None = None
    ) -> AttributePredictor:
        """Load heads from an artifact file (None = the default artifact in the package)."""
        import torch

        from shopml.listing.attributes.heads import build_heads

        artifact = Path(path) if path is not None else DEFAULT_ARTIFACT
        if not artifact.is_file():
            raise ArtifactError(
                f"attribute heads not found at {artifact}: train them with "
                "`shopml listing train-attributes --out PATH`"
            )
        try:
            blob = torch.load(artifact, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ArtifactError(
                f"{artifact}: not a readable attribute-heads artifact: {exc}"
            ) from exc
        if not isinstance(blob, dict) or blob.get("format") not in READABLE_FORMATS:
            raise ArtifactError(f"{artifact}: not a {' or '.join(READABLE_FORMATS)} artifact")
        config = blob["config"]
        vocab = {a: list(v) for a, v in blob["vocab"].items()}
        model = build_heads(
            int(config["input_dim"]),
            {a: len(v) for a, v in vocab.items()},
            int(config["heads"]["hidden"]),
            float(config["heads"]["dropout"]),
        )
        model.load_state_dict(expand_state(blob["state_dict"]))
        model.eval()
        meta = {"config": config, "metrics": blob.get("metrics", {}), "path": str(artifact)}
        predictor = cls(model, vocab, meta, encoder)
        if config.get("feature_version") not in (None, ImageEncoder.version):
            raise ArtifactError(
                f"{artifact}: trained on features {config.get('feature_version')!r}, "
                f"this encoder makes {ImageEncoder.version!r}; retrain the heads"
            )
        return predictor

    def predict_features(
        self, x: np.ndarray, top_k: int = 3
    ) -> list[dict[str, AttributePrediction]]:
        """Predictions for precomputed head inputs (n, d)."""
        from shopml.listing.attributes.heads import predict_proba

        proba = predict_proba(self.model, x)
        results: list[dict[str, AttributePrediction]] = [{} for _ in range(len(x))]
        for attribute in self.attributes:
            p = proba[attribute]
            labels = self.vocab[attribute]
            order = np.argsort(-p, axis=1, kind="stable")[:, :top_k]
            for i in range(len(x)):
                top = [(labels[j], float(p[i, j])) for j in order[i]]
                results[i][attribute] = AttributePrediction(top[0][0], top[0][1], top)
        return results

    def predict(
        self, images: Sequence[EncoderInput], batch_size: int = 32, progress: bool = False
    ) -> list[dict[str, AttributePrediction]]:
        """Per photo, a dict attribute -> AttributePrediction; ImageError for unusable photos."""
        from shopml.listing.attributes.features import head_inputs

        if len(images) == 0:
            return []
        x = head_inputs(images, self.encoder, batch_size=batch_size, progress=progress)
        return self.predict_features(x)
