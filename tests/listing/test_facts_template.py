"""Seller form validation, facts, the template composer and the prompt."""

import math

import pytest

from shopml.listing.claims import check_claims, extract_claims
from shopml.listing.facts import FormError, SellerForm, build_facts, check_attribute_overrides
from shopml.listing.prompt import build_prompt
from shopml.listing.template import choose_style, compose_listing
from shopml.llm import GenerationRequest, get_backend


def test_form_normalises_and_builds_facts():
    form = SellerForm(brand="  Levi's ", condition="NWT", price=20, size="32", currency="USD")
    assert form.condition == "new with tags" and form.brand == "Levi's" and form.price == 20.0
    facts = build_facts(form, {"articleType": "Jeans", "baseColour": "Blue", "usage": "NA"})
    assert facts == {
        "category": "Jeans",
        "colour": "Blue",
        "brand": "Levi's",
        "condition": "new with tags",
        "size": "32",
        "currency": "USD",
        "price": "20",
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"price": -1}, "price: -1 is negative"),
        ({"price": 5e7}, "absurd"),
        ({"price": math.nan}, "not a finite number"),
        ({"price": "12"}, "expected a number"),
        ({"condition": "smashed"}, "unknown condition 'smashed'"),
        ({"brand": "   "}, "brand: empty value"),
        ({"brand": "x" * 61}, "brand: 61 characters, more than 60"),
        ({"notes": "bad\x00byte"}, "control characters"),
        ({"size": "!!!"}, "no letters or digits"),
        ({"currency": "dollars"}, "currency"),
    ],
)
def test_bad_form_values_name_the_field(fields, message):
    with pytest.raises(FormError, match=message):
        SellerForm(**fields)


def test_parse_takes_raw_strings():
    form = SellerForm.parse(brand="", price="$1,250.50", condition="Like New")
    assert form.brand is None and form.price == 1250.5 and form.condition == "like new"
    with pytest.raises(FormError, match="price: 'cheap' is not a number"):
        SellerForm.parse(price="cheap")
    with pytest.raises(FormError, match="unknown form field"):
        SellerForm.parse(colour="red")


def test_attribute_overrides_are_checked():
    assert check_attribute_overrides({"baseColour": " Red "}) == {"baseColour": "Red"}
    with pytest.raises(FormError, match="attribute baseColour: empty value"):
        check_attribute_overrides({"baseColour": " "})
    with pytest.raises(FormError, match="not a plausible label"):
        check_attribute_overrides({"articleType": "x" * 100})
    with pytest.raises(FormError, match="not a valid name"):
        check_attribute_overrides({"bad name!": "x"})


FACTS = {
    "category": "Tshirts",
    "colour": "Navy Blue",
    "gender": "Men",
    "brand": "Nike",
    "condition": "like new",
    "size": "M",
    "currency": "USD",
    "price": "25",
}


def test_template_second_hand_style_exact_text():
    assert compose_listing(FACTS) == (
        "Nike Navy Blue Tshirts\n"
        "Nike navy blue tshirts for men.\n"
        "Condition: like new.\n"
        "Size: M.\n"
        "Price: 25 USD."
    )


def test_template_catalogue_style_from_references():
    facts = {k: v for k, v in FACTS.items() if k != "condition"}
    refs = ["Navy solid T-shirt, has a round neck", "Black printed T-shirt, short sleeves"]
    assert choose_style(facts, refs) == "catalogue"
    assert choose_style(facts, ["Used, good condition. Ships fast"]) == "second-hand"
    assert compose_listing(facts, refs) == (
        "Navy blue tshirts for men by Nike.\nSize: M.\nPrice: 25 USD."
    )


def test_template_states_only_supported_claims_and_writes_unknown_facts():
    facts = {**FACTS, "material": "cotton", "notes": "Free shipping", "fan count": "6"}
    text = compose_listing(facts)
    assert "The fan count is 6." in text
    supported, unsupported = check_claims(extract_claims(text), facts)
    assert unsupported == [] and len(supported) >= 6


def test_template_backend_through_the_registry():
    backend = get_backend("template")
    assert backend.generate(GenerationRequest(prompt="ignored", facts=FACTS)) == compose_listing(
        FACTS
    )
    with pytest.raises(ValueError, match="takes no options"):
        get_backend("template", base_url="http://x")


def test_prompt_holds_facts_references_rules_and_feedback():
    system, prompt = build_prompt(FACTS, ["x " * 400], feedback=["colour 'red'"])
    assert "Never invent" in system
    assert "- Brand: Nike" in prompt and "- Price: 25 USD" in prompt
    assert "Example 1:" in prompt and len(prompt) < 1200  # the reference is clipped
    assert "colour 'red'" in prompt and prompt.endswith("Listing:")


def test_template_without_a_name_for_the_item_writes_only_the_facts():
    assert compose_listing({"top material": "iron"}) == "The top material is iron."
    assert compose_listing({"title": "Gini and Jony Girls White Top", "colour": "White"}) == (
        "Gini and Jony Girls White Top\nWhite top."
    )
