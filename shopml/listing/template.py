"""The ``template`` backend: a deterministic listing composer that states the facts and nothing else.

No language model: the listing is assembled from the facts with fixed sentence patterns, in
one of two platform styles (IPL's point is that a listing should read like the platform's
own listings):

- ``catalogue`` (Myntra/Flipkart-like): "Navy blue casual shirt for men by Parx. Size: M.
  Price: 759 INR."
- ``second-hand`` (Mercari/Daangn-like, the default for a C2C marketplace): a title line,
  then "Condition: like new.", size, material, the seller's notes and the price.

With retrieved references the style is the one most of them follow (references that talk
about condition or shipping mark a second-hand platform); without references the
second-hand style is used when the facts hold a condition, else the catalogue style. Every
word that carries information comes from a fact, so the composer cannot hallucinate; it is
the honest fallback when no model is available, and the floor the model backends are
measured against in ``shopml bench listing``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from shopml.llm.base import GenerationRequest
from shopml.llm.registry import register_backend

SECOND_HAND_MARKERS = re.compile(
    r"\b(?:condition|used|worn|shipping|ship|offers?|bundle|flaws?|nwt|brand new|like new)\b",
    re.I,
)
# facts the composer writes in fixed places; any other fact is written as "Key: value."
_PLACED = {
    "title", "brand", "colour", "category", "gender", "condition", "size", "material",
    "price", "currency", "notes", "usage", "season", "sub_category", "master_category",
}  # fmt: skip
_GENDER_PHRASE = {
    "men": "for men",
    "women": "for women",
    "boys": "for boys",
    "girls": "for girls",
    "unisex": "unisex",
}


def choose_style(facts: Mapping[str, str], references: Sequence[str]) -> str:
    """'second-hand' or 'catalogue': the style most references follow, else by the facts."""
    if references:
        marked = sum(bool(SECOND_HAND_MARKERS.search(r)) for r in references)
        return "second-hand" if 2 * marked >= len(references) else "catalogue"
    return "second-hand" if facts.get("condition") else "catalogue"


def _price_text(facts: Mapping[str, str]) -> str | None:
    price = facts.get("price")
    if not price:
        return None
    currency = facts.get("currency")
    if currency is None:
        return price
    return f"{currency}{price}" if len(currency) == 1 else f"{price} {currency}"


def _item_noun(facts: Mapping[str, str]) -> str:
    """The item's noun: the category, else the title's last word ('... Waist Top' -> 'top'),
    else the sub-category, else 'item' (all facts, so nothing is invented)."""
    if facts.get("category"):
        return facts["category"].lower()
    words = re.findall(r"[A-Za-z][A-Za-z-]+", facts.get("title", ""))
    if words:
        return words[-1].lower()
    return facts.get("sub_category", "item").lower()


def _item_phrase(facts: Mapping[str, str]) -> str:
    """'navy blue tshirts' from colour and the item noun."""
    colour = facts.get("colour", "").lower()
    return f"{colour} {_item_noun(facts)}".strip()


def _generic_facts(facts: Mapping[str, str]) -> list[str]:
    sentences = []
    for key, value in facts.items():
        if key in _PLACED or not value:
            continue
        words = re.sub(r"[_\s]+", " ", key).strip()
        sentences.append(f"The {words} is {value}.")
    return sentences


def compose_listing(facts: Mapping[str, str], references: Sequence[str] = ()) -> str:
    """A plain listing from the facts only, in the style the references (or facts) suggest."""
    style = choose_style(facts, references)
    item = _item_phrase(facts)
    gender = _GENDER_PHRASE.get(facts.get("gender", "").lower())
    brand = facts.get("brand")
    lines: list[str] = []
    if not any(facts.get(k) for k in ("title", "brand", "colour", "category", "sub_category")):
        pass  # nothing names the item (e.g. bare attribute data): no head line
    elif style == "catalogue":
        head = item[:1].upper() + item[1:]
        if gender:
            head += f" {gender}"
        if brand:
            head += f" by {brand}"
        lines.append(head + ".")
        if facts.get("title"):
            lines.insert(0, facts["title"])
    else:
        title = facts.get("title") or " ".join(
            p for p in (brand, facts.get("colour"), facts.get("category")) if p
        )
        if title:
            lines.append(title)
        body = f"{brand} {item}" if brand else item[:1].upper() + item[1:]
        lines.append(f"{body}{' ' + gender if gender else ''}.")
    if facts.get("condition"):
        lines.append(f"Condition: {facts['condition']}.")
    if facts.get("size"):
        lines.append(f"Size: {facts['size']}.")
    if facts.get("material"):
        lines.append(f"Material: {facts['material']}.")
    if facts.get("usage") and style == "catalogue":
        lines.append(f"Good for {facts['usage'].lower()} wear.")
    lines.extend(_generic_facts(facts))
    if facts.get("notes"):
        note = facts["notes"].strip()
        lines.append(note if note.endswith((".", "!", "?")) else note + ".")
    price = _price_text(facts)
    if price:
        lines.append(f"Price: {price}.")
    return "\n".join(line for line in lines if line.strip(" ."))


class TemplateBackend:
    """Backend protocol wrapper around :func:`compose_listing` (ignores the prompt text)."""

    name = "template"

    def generate(self, request: GenerationRequest) -> str:
        """The composed listing for the request's facts and references."""
        return compose_listing(request.facts, request.references)


@register_backend("template")
def make_template_backend(**options: object) -> TemplateBackend:
    """Factory for ``get_backend("template")``; it takes no options."""
    if options:
        raise ValueError(f"the template backend takes no options, got {sorted(options)}")
    return TemplateBackend()
