"""IPL's listing pipeline: photos -> attributes -> style retrieval -> generation -> verification.

IPL (Xianyu, "Intelligent Product Listing"): a seller uploads photos; a vision model reads
what they show (category, colour, ...), the seller's form adds what they cannot (brand,
condition, price, size); similar past listings are retrieved as style references (ModICT's
in-context references, arXiv 2402.13587); a backend writes the draft; and shopml's claim
checker removes anything the facts do not support (IPL tunes the model instead; see
``verify.py``). :func:`draft_listing` runs the whole chain and returns a :class:`Draft`.
Errors from the parts (``ImageError``, :class:`FormError`, ``BackendError`` subclasses) are
raised unchanged so the CLI and the web app can map them to messages and status codes.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopml.listing.claims import Claim
from shopml.listing.facts import (
    ATTRIBUTE_FACT_KEYS,
    FormError,
    SellerForm,
    build_facts,
    check_attribute_overrides,
)
from shopml.listing.prompt import build_prompt
from shopml.listing.template import compose_listing
from shopml.listing.verify import verify_draft
from shopml.llm.base import Backend, GenerationRequest

MAX_PHOTOS = 8
# attributes below this probability are not used as facts (the seller can still set them)
MIN_ATTRIBUTE_PROBABILITY = 0.4


@dataclass
class Draft:
    """A drafted listing with everything that went into it and what verification removed."""

    attributes: dict[str, Any]
    facts: dict[str, str]
    references: list[Any]
    text: str
    removed_claims: list[Claim]
    backend: str
    latency_s: float
    raw_text: str = ""
    removed_sentences: list[str] = field(default_factory=list)
    verified: bool = False

    def to_json(self) -> dict[str, Any]:
        """The draft as a JSON-ready dict."""
        return {
            "attributes": {name: _prediction_json(p) for name, p in self.attributes.items()},
            "facts": dict(self.facts),
            "references": [_reference_json(r) for r in self.references],
            "text": self.text,
            "removed_claims": [c.to_json() for c in self.removed_claims],
            "removed_sentences": list(self.removed_sentences),
            "raw_text": self.raw_text,
            "backend": self.backend,
            "verified": self.verified,
            "latency_s": round(float(self.latency_s), 4),
        }


def _prediction_json(prediction: Any) -> dict[str, Any]:
    top = getattr(prediction, "top", []) or []
    return {
        "label": prediction.label,
        "probability": round(float(prediction.probability), 4),
        "top": [[label, round(float(p), 4)] for label, p in top],
    }


def _reference_json(reference: Any) -> dict[str, Any]:
    keys = ("item_id", "source", "title", "description", "score")
    out = {k: getattr(reference, k, None) for k in keys}
    if out["score"] is not None:
        out["score"] = round(float(out["score"]), 4)
    if out["item_id"] is not None:
        out["item_id"] = str(out["item_id"])
    return out


# ------------------------------------------------------------------ shared, lazily built parts
_LOCK = threading.Lock()
_BACKENDS: dict[tuple, Backend] = {}
_DEFAULTS: dict[str, Any] = {}


def get_cached_backend(name: str, options: Mapping[str, Any] | None = None) -> Backend:
    """A backend by name, built once per (name, options) in this process (models load once)."""
    from shopml.llm.registry import get_backend

    key = (name, tuple(sorted((k, repr(v)) for k, v in (options or {}).items())))
    with _LOCK:
        if key not in _BACKENDS:
            _BACKENDS[key] = get_backend(name, **dict(options or {}))
        return _BACKENDS[key]


def default_predictor() -> Any:
    """B's attribute predictor with the artifact shipped in the package (loaded once)."""
    with _LOCK:
        if "predictor" not in _DEFAULTS:
            from shopml.listing.attributes import AttributePredictor

            _DEFAULTS["predictor"] = AttributePredictor.load()
        return _DEFAULTS["predictor"]


def default_retriever(progress: bool = False) -> Any:
    """D1's style retriever over the shared listing corpora (built once, cached on disk)."""
    with _LOCK:
        if "retriever" not in _DEFAULTS:
            from shopml.listing.retrieval import StyleRetriever

            _DEFAULTS["retriever"] = StyleRetriever.default(progress)
        return _DEFAULTS["retriever"]


# ------------------------------------------------------------------ steps
def combine_predictions(per_photo: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One prediction per attribute from several photos: mean of the top-k probabilities."""
    if len(per_photo) == 1:
        return dict(per_photo[0])
    from shopml.listing.attributes import AttributePrediction

    combined: dict[str, Any] = {}
    names = {name for prediction in per_photo for name in prediction}
    for name in sorted(names):
        scores: dict[str, float] = {}
        for prediction in per_photo:
            if name not in prediction:
                continue
            top = prediction[name].top or [(prediction[name].label, prediction[name].probability)]
            for label, p in top:
                scores[label] = scores.get(label, 0.0) + float(p) / len(per_photo)
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        combined[name] = AttributePrediction(ranked[0][0], ranked[0][1], ranked[:3])
    return combined


def attribute_labels(
    predictions: Mapping[str, Any],
    overrides: Mapping[str, str],
    min_probability: float = MIN_ATTRIBUTE_PROBABILITY,
) -> dict[str, str]:
    """Labels to use as facts: confident predictions, then the seller's corrections on top."""
    labels = {
        name: p.label
        for name, p in predictions.items()
        if float(p.probability) >= min_probability
    }
    by_fact_key = {v: k for k, v in ATTRIBUTE_FACT_KEYS.items()}
    for name, value in overrides.items():
        labels[by_fact_key.get(name, name)] = value
    return labels


def query_text(facts: Mapping[str, str]) -> str:
    """The retrieval query: the item's describing facts as one line."""
    keys = ("title", "brand", "colour", "category", "gender", "material", "condition", "notes")
    return " ".join(facts[k] for k in keys if facts.get(k))


def reference_text(reference: Any, limit: int = 400) -> str:
    """A reference as prompt text: its title and description."""
    title = (getattr(reference, "title", "") or "").strip()
    body = (getattr(reference, "description", "") or "").strip()
    text = f"{title}. {body}" if title and body else title or body
    return " ".join(text.split())[:limit]


_PREAMBLE = re.compile(r"^\s*(?:listing|description|answer|draft)\s*:\s*", re.I)


def clean_generation(text: str, drop_unfinished: bool = False) -> str:
    """Strip a model's preamble ('Listing:'), blank lines and exactly repeated sentences; with
    `drop_unfinished`, also a last sentence cut off by the token limit (no end punctuation)."""
    text = _PREAMBLE.sub("", text.strip())
    seen: set[str] = set()
    lines = []
    for line in text.splitlines():
        kept = []
        for sentence in re.split(r"(?<=[.!?])\s+", line.strip()):
            key = sentence.strip().lower()
            if key and key not in seen:
                seen.add(key)
                kept.append(sentence.strip())
        if kept:
            lines.append(" ".join(kept))
    if drop_unfinished and lines:
        last = re.split(r"(?<=[.!?])\s+", lines[-1])
        if not re.search(r"[.!?)\"']$", last[-1]) and (len(last) > 1 or len(lines) > 1):
            last = last[:-1]
            lines = lines[:-1] + ([" ".join(last)] if last else [])
    return "\n".join(lines)


def _image_embedding(photos: Sequence[Any]) -> Any:
    try:
        from shopml.vision.encoder import ImageEncoder
    except ImportError:
        return None
    return ImageEncoder.shared().embed(list(photos[:1]))[0]


def draft_listing(
    photos: Sequence[str | Path | bytes],
    form: SellerForm,
    backend: str | Backend = "template",
    k: int = 3,
    retrieve: bool = True,
    verify: bool = True,
    attribute_overrides: dict[str, str] | None = None,
    predictor: Any = None,
    retriever: Any = None,
    backend_options: dict | None = None,
    *,
    feedback_rounds: int = 0,
    exclude_ids: Collection[str] = (),
    max_tokens: int = 160,
    seed: int = 0,
    min_attribute_probability: float = MIN_ATTRIBUTE_PROBABILITY,
    progress: bool = False,
) -> Draft:
    """Draft a listing for `photos` and the seller's `form` (see the module docstring).

    With `progress`, the default style index's one-time build (minutes; later calls load it
    from the cache) says so and shows its progress on stderr.
    """
    started = time.perf_counter()
    if not isinstance(form, SellerForm):
        raise FormError(f"form: expected a SellerForm, got {type(form).__name__}")
    if len(photos) > MAX_PHOTOS:
        raise FormError(f"photos: {len(photos)} given, at most {MAX_PHOTOS}")
    if not 0 <= k <= 20:
        raise FormError(f"k: {k} references asked for; use 0 to 20")
    overrides = check_attribute_overrides(attribute_overrides)

    predictions: dict[str, Any] = {}
    if photos:
        from shopml.vision.images import load_image

        images = [load_image(p) for p in photos]  # ImageError names the bad photo
        model = predictor if predictor is not None else default_predictor()
        predictions = combine_predictions(model.predict(images))
    else:
        images = []
    facts = build_facts(form, attribute_labels(predictions, overrides, min_attribute_probability))
    if not facts:
        raise FormError("nothing to describe: give a photo or at least one form field")

    references: list[Any] = []
    if retrieve and k > 0:
        index = retriever if retriever is not None else default_retriever(progress)
        embedding = _image_embedding(images) if images else None
        references = index.retrieve(
            query_text(facts), image_embedding=embedding, k=k, exclude_ids=exclude_ids
        )
    reference_texts = [reference_text(r) for r in references]

    engine = (
        get_cached_backend(backend, backend_options) if isinstance(backend, str) else backend
    )
    system, prompt = build_prompt(facts, reference_texts)
    request = GenerationRequest(
        prompt=prompt,
        system=system,
        facts=dict(facts),
        references=reference_texts,
        max_tokens=max_tokens,
        temperature=0.0,
        seed=seed,
    )
    is_model = getattr(engine, "name", "") != "template"
    raw = clean_generation(engine.generate(request), drop_unfinished=is_model)

    text, removed, dropped = raw, [], []
    if verify:

        def regenerate(notes: list[str]) -> str:
            system2, prompt2 = build_prompt(facts, reference_texts, feedback=notes)
            again = GenerationRequest(
                prompt=prompt2,
                system=system2,
                facts=dict(facts),
                references=reference_texts,
                max_tokens=max_tokens,
                temperature=0.0,
                seed=seed + 1,
            )
            return clean_generation(engine.generate(again), drop_unfinished=is_model)

        result = verify_draft(
            raw,
            facts,
            regenerate=regenerate,
            rounds=feedback_rounds,
            fallback_text=compose_listing(facts, reference_texts),
        )
        text, removed, dropped = result.text, result.removed_claims, result.removed_sentences
    return Draft(
        attributes=predictions,
        facts=facts,
        references=list(references),
        text=text,
        removed_claims=removed,
        backend=getattr(engine, "name", str(backend)),
        latency_s=time.perf_counter() - started,
        raw_text=raw,
        removed_sentences=dropped,
        verified=verify,
    )
