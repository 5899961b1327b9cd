"""draft_listing end to end: facts, references, backend, verification, errors."""

import json

import pytest

from shopml.data.samples import sample_path
from shopml.listing import Draft, FormError, SellerForm, draft_listing
from shopml.listing.pipeline import clean_generation, combine_predictions
from shopml.llm.base import BackendTimeoutError, GenerationRequest

FORM = SellerForm(brand="Nike", condition="good", price=18, currency="USD", size="M")
OVERRIDES = {"articleType": "Tshirts", "baseColour": "Black", "gender": "Men"}


class FixedRetriever:
    """A test double with StyleRetriever's retrieve() signature that records its calls."""

    def __init__(self):
        self.calls = []

    def retrieve(self, query_text, image_embedding=None, k=3, exclude_ids=()):
        from shopml.listing.retrieval import Reference

        self.calls.append((query_text, k, set(exclude_ids)))
        return [
            Reference("mercari:1", "mercari", "Nike tee", "Used, good condition. Size M.", 0.9),
            Reference("mercari:2", "mercari", "Adidas top", "Like new adidas top, $30.", 0.8),
        ][:k]


class ScriptedBackend:
    """A backend that returns fixed text and records the requests it got."""

    name = "scripted"

    def __init__(self, *texts):
        self.texts = list(texts)
        self.requests: list[GenerationRequest] = []

    def generate(self, request):
        self.requests.append(request)
        return self.texts[min(len(self.requests), len(self.texts)) - 1]


def test_template_draft_with_references_and_json():
    retriever = FixedRetriever()
    draft = draft_listing(
        [], FORM, attribute_overrides=OVERRIDES, retriever=retriever, k=2, exclude_ids={"x:1"}
    )
    assert isinstance(draft, Draft) and draft.backend == "template"
    assert retriever.calls == [("Nike Black Tshirts Men good", 2, {"x:1"})]
    assert draft.text.startswith("Nike Black Tshirts\n") and draft.removed_claims == []
    data = json.loads(json.dumps(draft.to_json()))
    assert data["facts"]["brand"] == "Nike" and data["references"][0]["item_id"] == "mercari:1"
    assert set(data) >= {"attributes", "facts", "references", "text", "removed_claims", "latency_s"}


def test_backend_hallucinations_are_removed_and_reported():
    backend = ScriptedBackend("Listing: Black Nike tee, size M. Brand new, comes with charger! $18.")
    draft = draft_listing(
        [], FORM, backend=backend, attribute_overrides=OVERRIDES, retriever=FixedRetriever()
    )
    assert draft.raw_text == "Black Nike tee, size M. Brand new, comes with charger! $18."
    assert draft.text == "Black Nike tee, size M. $18."
    assert [(c.kind, c.value) for c in draft.removed_claims] == [
        ("condition", "brand new"),
        ("accessory", "charger"),
    ]
    request = backend.requests[0]
    assert "Example 1: Nike tee. Used, good condition. Size M." in request.prompt
    assert request.facts["size"] == "M" and len(request.references) == 2


def test_feedback_round_uses_the_backend_again():
    backend = ScriptedBackend("Red Adidas tee.", "Black Nike tee, size M.")
    draft = draft_listing(
        [], FORM, backend=backend, attribute_overrides=OVERRIDES, retrieve=False, feedback_rounds=1
    )
    assert draft.text == "Black Nike tee, size M." and draft.removed_claims == []
    assert "brand 'Adidas'" in backend.requests[1].prompt


def test_unverified_draft_keeps_everything():
    backend = ScriptedBackend("Red tee. Free shipping.")
    draft = draft_listing([], FORM, backend=backend, retrieve=False, verify=False)
    assert draft.text == "Red tee. Free shipping." and draft.removed_claims == []


def test_errors_are_raised_unchanged():
    class Down:
        name = "down"

        def generate(self, request):
            raise BackendTimeoutError("http://127.0.0.1:9/v1 did not answer within 1 s")

    with pytest.raises(BackendTimeoutError, match=r"127\.0\.0\.1:9"):
        draft_listing([], FORM, backend=Down(), retrieve=False)
    with pytest.raises(FormError, match="nothing to describe"):
        draft_listing([], SellerForm(), retrieve=False)
    with pytest.raises(FormError, match="at most 8"):
        draft_listing([b"x"] * 9, FORM, retrieve=False)
    with pytest.raises(FormError, match="expected a SellerForm"):
        draft_listing([], {"brand": "Nike"}, retrieve=False)
    with pytest.raises(ValueError, match="unknown backend"):
        draft_listing([], FORM, backend="nonesuch", retrieve=False)


def test_clean_generation():
    assert clean_generation("Listing: A tee. A tee.\n\nSize M. A tee.") == "A tee.\nSize M."
    # a model's last sentence cut off by the token limit is dropped; a lone fragment is kept
    assert clean_generation("A tee. Size M. The item is made to", True) == "A tee. Size M."
    assert clean_generation("A tee.\nMast", True) == "A tee."
    assert clean_generation("Title line\nA tee.", True) == "Title line\nA tee."
    assert clean_generation("Only a fragment", True) == "Only a fragment"


def test_real_photo_through_the_attribute_predictor():
    images = pytest.importorskip("shopml.vision.images")
    pytest.importorskip("shopml.listing.attributes")
    photo = sample_path("fashion_images/images/15970.jpg")
    if not photo.is_file():
        pytest.skip("photo 15970.jpg not in the sample")
    draft = draft_listing([photo, photo.read_bytes()], FORM, retrieve=False)
    assert "articleType" in draft.attributes and "baseColour" in draft.attributes
    assert draft.facts["brand"] == "Nike" and draft.removed_claims == []
    json.dumps(draft.to_json())
    with pytest.raises(images.ImageError):
        draft_listing([b"not an image"], FORM, retrieve=False)


def test_combine_predictions_averages_top_probabilities():
    attributes = pytest.importorskip("shopml.listing.attributes")
    P = attributes.AttributePrediction
    combined = combine_predictions(
        [
            {"baseColour": P("Black", 0.6, [("Black", 0.6), ("Navy Blue", 0.4)])},
            {"baseColour": P("Navy Blue", 0.9, [("Navy Blue", 0.9), ("Black", 0.1)])},
        ]
    )
    assert combined["baseColour"].label == "Navy Blue"
    assert combined["baseColour"].probability == pytest.approx(0.65)
    assert combined["baseColour"].top == [
        ("Navy Blue", pytest.approx(0.65)),
        ("Black", pytest.approx(0.35)),
    ]
