"""The seller's form and the facts a listing may state.

IPL (Xianyu, "Intelligent Product Listing") reads what a photo can show (category, colour,
...) with a vision model and takes what it cannot (brand, condition, price, size) from the
seller. :class:`SellerForm` is that form, validated: a bad value raises :class:`FormError`
naming the field. :func:`build_facts` merges the form with the predicted (or
seller-corrected) attributes into the flat ``facts`` dict that the prompt, the template
composer and the claim checker all read. A listing may state these facts and nothing else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

# Canonical condition labels (Mercari's five plus common marketplace words), and the words
# a seller may type for each.
CONDITION_ALIASES: dict[str, str] = {
    "new": "new",
    "brand new": "new",
    "new with tags": "new with tags",
    "nwt": "new with tags",
    "new without tags": "new without tags",
    "nwot": "new without tags",
    "like new": "like new",
    "mint": "like new",
    "excellent": "excellent",
    "very good": "very good",
    "good": "good",
    "used": "used",
    "pre-owned": "used",
    "preowned": "used",
    "fair": "fair",
    "poor": "poor",
    "for parts": "for parts",
}
CONDITIONS = sorted(set(CONDITION_ALIASES.values()))

MAX_PRICE = 1_000_000.0
MAX_LENGTH = {"brand": 60, "size": 30, "material": 60, "title": 120, "notes": 500, "currency": 8}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$|^[$€£₹¥₩]$")

# attribute name (B's ATTRIBUTES) -> facts key
ATTRIBUTE_FACT_KEYS: dict[str, str] = {
    "articleType": "category",
    "baseColour": "colour",
    "gender": "gender",
    "usage": "usage",
    "season": "season",
    "subCategory": "sub_category",
    "masterCategory": "master_category",
}
# facts keys a listing is expected to mention (attribute coverage)
KEY_FACTS = ("brand", "colour", "category", "size", "condition", "material", "price")


class FormError(ValueError):
    """A seller-form value is empty, too long, absurd or unknown (the message names the field)."""


def normalise_condition(value: str) -> str:
    """The canonical condition label for a seller's word; FormError if unknown."""
    key = re.sub(r"\s+", " ", value.strip().lower().replace("_", " "))
    if key not in CONDITION_ALIASES:
        raise FormError(
            f"condition: unknown condition {value!r}; use one of {', '.join(CONDITIONS)}"
        )
    return CONDITION_ALIASES[key]


def _check_text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FormError(f"{field}: expected text, got {type(value).__name__}")
    text = re.sub(r"\s+", " ", value).strip()
    if not text:
        raise FormError(f"{field}: empty value; leave the field out instead")
    if _CONTROL.search(value):
        raise FormError(f"{field}: contains control characters")
    if len(text) > MAX_LENGTH[field]:
        raise FormError(f"{field}: {len(text)} characters, more than {MAX_LENGTH[field]}")
    if not re.search(r"\w", text):
        raise FormError(f"{field}: {text!r} has no letters or digits")
    return text


@dataclass
class SellerForm:
    """What the seller types: anything a photo cannot show. Validated on construction."""

    brand: str | None = None
    condition: str | None = None
    price: float | None = None
    size: str | None = None
    material: str | None = None
    notes: str | None = None
    title: str | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        for field in ("brand", "size", "material", "notes", "title", "currency"):
            setattr(self, field, _check_text(field, getattr(self, field)))
        if self.currency is not None and not _CURRENCY.match(self.currency):
            raise FormError(
                f"currency: {self.currency!r} is not a 3-letter code (USD) or a symbol ($)"
            )
        if self.condition is not None:
            if not isinstance(self.condition, str):
                raise FormError(f"condition: expected text, got {type(self.condition).__name__}")
            self.condition = normalise_condition(self.condition)
        if self.price is not None:
            if isinstance(self.price, bool) or not isinstance(self.price, int | float):
                raise FormError(f"price: expected a number, got {self.price!r}")
            price = float(self.price)
            if not math.isfinite(price):
                raise FormError(f"price: {self.price!r} is not a finite number")
            if price < 0:
                raise FormError(f"price: {price:g} is negative")
            if price > MAX_PRICE:
                raise FormError(f"price: {price:g} is absurd (more than {MAX_PRICE:,.0f})")
            self.price = price

    @classmethod
    def parse(cls, **fields: str | float | None) -> SellerForm:
        """Build from raw form strings (CLI, HTML form): blanks mean 'not given'; price parsed."""
        clean: dict[str, Any] = {}
        for name, value in fields.items():
            if isinstance(value, str) and not value.strip():
                value = None
            clean[name] = value
        price = clean.get("price")
        if isinstance(price, str):
            text = price.strip().lstrip("$€£₹").replace(",", "")
            try:
                clean["price"] = float(text)
            except ValueError as exc:
                raise FormError(f"price: {price!r} is not a number") from exc
        unknown = set(clean) - set(cls.__dataclass_fields__)
        if unknown:
            raise FormError(f"unknown form field(s): {', '.join(sorted(unknown))}")
        return cls(**clean)

    def to_json(self) -> dict[str, Any]:
        """The form as a JSON-ready dict."""
        return asdict(self)


def format_price(price: float) -> str:
    """A price as text: no decimals for whole amounts, else two."""
    return f"{price:.0f}" if float(price).is_integer() else f"{price:.2f}"


def build_facts(
    form: SellerForm,
    attributes: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The facts a listing may state: attribute labels (by facts key) plus the form's fields."""
    facts: dict[str, str] = {}
    for name, label in (attributes or {}).items():
        if label is None:
            continue
        text = str(label).strip()
        if not text or text.upper() == "NA":
            continue
        facts[ATTRIBUTE_FACT_KEYS.get(name, name)] = text
    for field in ("title", "brand", "condition", "size", "material", "notes", "currency"):
        value = getattr(form, field)
        if value is not None:
            facts[field] = value
    if form.price is not None:
        facts["price"] = format_price(form.price)
    return facts


def check_attribute_overrides(overrides: Mapping[str, str] | None) -> dict[str, str]:
    """Validate seller-corrected attributes: known names, non-empty, short text."""
    if not overrides:
        return {}
    clean: dict[str, str] = {}
    for name, value in overrides.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", name):
            raise FormError(f"attribute name {name!r} is not a valid name")
        if value is None:
            continue
        if not isinstance(value, str):
            raise FormError(f"attribute {name}: expected text, got {type(value).__name__}")
        text = re.sub(r"\s+", " ", value).strip()
        if not text:
            raise FormError(f"attribute {name}: empty value")
        if len(text) > 60 or _CONTROL.search(value) or not re.search(r"\w", text):
            raise FormError(f"attribute {name}: {value[:80]!r} is not a plausible label")
        clean[name] = text
    return clean
