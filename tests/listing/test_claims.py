"""The claim checker on hand-written drafts with planted false claims: exactly those flagged."""

import json

import pytest

from shopml.data.samples import sample_path
from shopml.listing.claims import (
    VOCABULARY_PATH,
    build_vocabulary,
    check_claims,
    extract_claims,
)

FACTS = {
    "title": "Nike Dri-FIT running tee",
    "brand": "Nike",
    "category": "Tshirts",
    "colour": "Navy Blue",
    "gender": "Men",
    "condition": "good",
    "size": "L (12-14)",
    "material": "polyester",
    "price": "18",
    "currency": "USD",
    "notes": "Small mark on the hem.",
}


def flagged(text: str, facts=FACTS) -> list[tuple[str, str]]:
    return [(c.kind, c.value) for c in check_claims(extract_claims(text), facts)[1]]


def kept(text: str, facts=FACTS) -> list[tuple[str, str]]:
    return [(c.kind, c.value) for c in check_claims(extract_claims(text), facts)[0]]


TRUE_DRAFT = (
    "Nike navy running tee for men. Size L (12-14), made of polyester. "
    "Good condition, small mark on the hem. Price: $18."
)


def test_true_draft_has_no_unsupported_claim_and_keeps_every_true_one():
    assert flagged(TRUE_DRAFT) == []
    assert kept(TRUE_DRAFT) == [
        ("brand", "nike"),
        ("colour", "navy blue"),
        ("size", "L (12-14)"),
        ("material", "polyester"),
        ("condition", "good condition"),
        ("price", "18"),
    ]


@pytest.mark.parametrize(
    ("planted", "expected"),
    [
        ("A red tee.", [("colour", "red")]),  # wrong colour
        ("By Adidas.", [("brand", "adidas")]),  # invented brand
        ("Only $25!", [("price", "25")]),  # false price
        ("Free shipping.", [("shipping", "free shipping")]),
        ("Ships same day.", [("shipping", "same day shipping")]),
        ("Comes with charger.", [("accessory", "charger")]),
        ("Comes with the original box and dust bag.", [("accessory", "box"), ("accessory", "dust bag")]),
        ("Brand new.", [("condition", "brand new")]),  # "brand new" when used
        ("Never worn.", [("condition", "never worn")]),
        ("Condition: like new.", [("condition", "label:like new")]),
        ("Size M.", [("size", "M")]),  # wrong size
        ("Fits like an XXL.", [("size", "XXL")]),
        ("Made of 100% cotton.", [("number", "100"), ("material", "cotton")]),
        ("Has 3 pockets.", [("number", "3")]),
    ],
)
def test_each_planted_false_claim_is_flagged_and_the_true_ones_kept(planted, expected):
    draft = f"{TRUE_DRAFT} {planted}"
    assert flagged(draft) == expected
    assert kept(draft) == kept(TRUE_DRAFT)


def test_many_planted_claims_in_one_draft():
    draft = (
        "Brand new Adidas red tee, size M. Comes with charger. Free shipping! "
        "Only $25. Nike quality, navy blue, polyester."
    )
    assert flagged(draft) == [
        ("condition", "brand new"),
        ("brand", "adidas"),
        ("colour", "red"),
        ("size", "M"),
        ("accessory", "charger"),
        ("shipping", "free shipping"),
        ("price", "25"),
    ]
    assert kept(draft) == [("brand", "nike"), ("colour", "navy blue"), ("material", "polyester")]


def test_claims_the_seller_wrote_in_the_notes_are_supported():
    facts = {**FACTS, "notes": "Free shipping, comes with the original box. Never worn."}
    assert flagged("Free shipping. Comes with original box. Never worn.", facts) == []


def test_colour_size_and_price_matching_rules():
    assert flagged("Blue and navy tee, grey stripes.", FACTS) == [("colour", "grey")]
    assert flagged("Gray tee.", {**FACTS, "colour": "Grey"}) == []
    assert flagged("Size 14.", FACTS) == []  # a token of 'L (12-14)'
    assert flagged("Price 18.00 dollars.", FACTS) == []
    assert flagged("Rs. 1,299", {**FACTS, "price": "1299"}) == []
    assert flagged("Rs. 1,299", FACTS) == [("price", "1299")]


def test_condition_table():
    new = {**FACTS, "condition": "new with tags"}
    assert flagged("Brand new with tags. NWT.", new) == []
    assert flagged("Gently used.", new) == [("condition", "gently used")]
    assert flagged("Used.", FACTS) == []  # good is a used condition
    assert flagged("A tee.", {k: v for k, v in FACTS.items() if k != "condition"}) == []
    assert flagged("Like new.", {k: v for k, v in FACTS.items() if k != "condition"}) == [
        ("condition", "like new")
    ]


def test_brand_names_that_are_words_or_other_brands_are_not_confused():
    # 'New Balance' is not a newness claim; lowercase common words are not brands
    claims = extract_claims("New Balance sneakers, a basic gap between the straps.")
    assert [(c.kind, c.value) for c in claims if c.kind == "condition"] == []
    assert [c.value for c in claims if c.kind == "brand"] == []


def test_claim_spans_point_into_the_text():
    text = "Nike tee, $18, free shipping."
    for claim in extract_claims(text):
        assert text[claim.start : claim.end] == claim.text


def test_shipped_vocabulary_is_built_from_the_real_data():
    shipped = json.loads(VOCABULARY_PATH.read_text())
    data_dir = sample_path("listings").parent
    assert build_vocabulary(data_dir) == shipped
    assert "navy blue" in shipped["colours"] and "Nike" in shipped["brands"]


def test_accessory_needs_an_inclusion_phrase():
    def accessories(text):
        return [c.value for c in extract_claims(text) if c.kind == "accessory"]

    assert accessories("It is in good shape, with a 25-dollar price tag.") == []
    assert accessories("Jacket with a hood.") == []
    assert accessories("Includes a USB charging cable.") == ["charging cable"]
    assert accessories("Shirt with spare buttons.") == ["spare buttons"]
    # "new with tags" is a condition claim, not an accessory
    assert [(c.kind, c.value) for c in extract_claims("New with tags.")] == [
        ("condition", "new with tags")
    ]
    assert flagged("New with tags.") == [("condition", "new with tags")]


def test_a_free_form_fact_name_supports_its_words():
    facts = {"total metal weight": "5.05 grams"}
    assert flagged("The total metal weight is 5.05 grams.", facts) == []
    assert flagged("Made of metal, 6 grams.", facts) == [("number", "6")]


def test_long_numbers_keep_every_digit():
    facts = {"title": "Sheet set 1352889-513", "price": "120"}
    assert [c.value for c in extract_claims("Model 1352889.") if c.kind == "number"] == ["1352889"]
    assert flagged("Sheet set 1352889-513, $120.", facts) == []
