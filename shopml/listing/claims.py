"""Claims of a listing draft, and whether the facts support them.

IPL (Xianyu, "Intelligent Product Listing") names hallucination as the obstacle to letting a
model write listings; its remedy is domain tuning. shopml's remedy for a small local model
is a checker: every checkable claim in a draft is extracted with regular expressions and
vocabularies drawn from the real data, then compared with the facts (the seller's form and
the attributes read from the photos). Claim kinds:

- ``brand``: a known brand name (vocabulary: Myntra ``Product_Brand`` and Mercari
  ``brandName`` values, minus ambiguous common words), or ``brand: X``;
- ``colour``: Fashion Product Images ``baseColour`` and Myntra ``Primary_Color`` values plus
  common synonyms (gray, navy, ...);
- ``material``: a fixed list of fabric and material words;
- ``size``: ``size X``, ``X (12-14)``-style sizes, letter sizes (XS … 4XL);
- ``price``: a currency amount (``$25``, ``Rs. 899``, ``25 USD``) or ``price: 25``;
- ``number``: any other number (``5 pockets``, ``100% cotton``, ``2 years warranty``);
- ``condition``: new / brand new / NWT / like new / never worn / excellent / good / used ...;
- ``shipping``: shipping or delivery promises (free, fast, same-day, next-day, included ...);
- ``accessory``: things that "come with" the item (charger, box, dust bag, manual ...).

A claim is supported when the matching fact agrees (colours by word overlap, sizes by
token, prices within 1 %, conditions by an allowed-set table) or when the same claim can be
extracted from the seller's own free text (title, notes). Limits, stated honestly: a brand
that is in no vocabulary and not written as ``brand: X`` is not recognised; claims the
vocabularies do not cover (fit, style, occasion, "smoke-free home") are not checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

VOCABULARY_PATH = Path(__file__).with_name("vocabulary.json")


@dataclass
class Claim:
    """One checkable statement in a text: its kind, the words that say it, a normalised value."""

    kind: str
    text: str
    value: str
    start: int = -1
    end: int = -1

    def to_json(self) -> dict[str, object]:
        """The claim as a JSON-ready dict."""
        return {"kind": self.kind, "text": self.text, "value": self.value}


# ---------------------------------------------------------------- vocabularies
COLOUR_SYNONYMS = {
    "gray": "grey",
    "navy": "navy blue",
    "multicolor": "multi",
    "multicolour": "multi",
    "multi-color": "multi",
    "multi-colour": "multi",
    "multicoloured": "multi",
    "multicolored": "multi",
    "off-white": "off white",
    "offwhite": "off white",
    "violet": "purple",
    "ivory": "cream",
    "dark blue": "navy blue",
    "light blue": "blue",
    "sky blue": "blue",
    "dark green": "green",
    "light pink": "pink",
}
# colour words too ambiguous in running text to count as a colour claim
AMBIGUOUS_COLOURS = {"skin", "steel", "metallic", "matte", "nude", "na", "multi", "rust"}
EXTRA_COLOURS = ["violet", "ivory", "aqua", "coral", "indigo", "mint"]

MATERIALS = [
    "cotton", "organic cotton", "polyester", "leather", "genuine leather", "faux leather",
    "pu leather", "vegan leather", "suede", "denim", "silk", "wool", "merino wool", "cashmere",
    "linen", "nylon", "spandex", "elastane", "lycra", "rayon", "viscose", "modal", "acrylic",
    "fleece", "velvet", "satin", "chiffon", "georgette", "crepe", "lace", "canvas", "rubber",
    "plastic", "stainless steel", "sterling silver", "solid gold", "gold plated",
    "silver plated", "brass", "copper", "aluminium", "aluminum", "titanium", "wood", "wooden",
    "bamboo", "glass", "ceramic", "porcelain", "jute", "mesh", "synthetic", "tweed", "corduroy",
    "khadi", "iron", "metal", "alloy", "vinyl", "resin", "cardboard", "paper",
]  # fmt: skip

# phrase -> the canonical form-conditions that make it true
CONDITION_PHRASES: dict[str, set[str]] = {
    "brand new": {"new", "new with tags", "new without tags"},
    "new with tags": {"new with tags"},
    "nwt": {"new with tags"},
    "new without tags": {"new without tags"},
    "nwot": {"new without tags"},
    "new in box": {"new", "new with tags"},
    "nib": {"new", "new with tags"},
    "never worn": {"new", "new with tags", "new without tags", "like new"},
    "never used": {"new", "new with tags", "new without tags", "like new"},
    "unworn": {"new", "new with tags", "new without tags", "like new"},
    "unused": {"new", "new with tags", "new without tags", "like new"},
    "like new": {"like new"},
    "mint condition": {"new", "new with tags", "new without tags", "like new"},
    "perfect condition": {"new", "new with tags", "new without tags", "like new"},
    "flawless": {"new", "new with tags", "new without tags", "like new"},
    "no flaws": {"new", "new with tags", "new without tags", "like new", "excellent"},
    "excellent condition": {"like new", "excellent"},
    "very good condition": {"like new", "excellent", "very good"},
    "great condition": {"like new", "excellent", "very good"},
    "good condition": {"like new", "excellent", "very good", "good"},
    "gently used": {"like new", "excellent", "very good", "good", "used"},
    "lightly used": {"like new", "excellent", "very good", "good", "used"},
    "barely used": {"like new", "excellent", "very good"},
    "worn once": {"like new", "excellent"},
    "pre-owned": {"like new", "excellent", "very good", "good", "used", "fair", "poor"},
    "preowned": {"like new", "excellent", "very good", "good", "used", "fair", "poor"},
    "used": {"like new", "excellent", "very good", "good", "used", "fair", "poor", "for parts"},
    "fair condition": {"fair"},
    "poor condition": {"poor", "for parts"},
    "for parts": {"for parts"},
    "new": {"new", "new with tags", "new without tags"},
}
CONDITION_LABEL_WORDS = {  # "Condition: good" lines
    "new": {"new", "new with tags", "new without tags"},
    "new with tags": {"new with tags"},
    "new without tags": {"new without tags"},
    "like new": {"like new"},
    "excellent": {"excellent", "like new"},
    "very good": {"very good", "excellent", "like new"},
    "good": {"good", "very good", "excellent", "like new"},
    "used": {"used", "good", "very good", "excellent", "like new", "fair", "poor"},
    "fair": {"fair"},
    "poor": {"poor"},
    "for parts": {"for parts"},
}

SHIPPING_PATTERNS: dict[str, str] = {
    "free shipping": r"free\s+(?:shipping|delivery|postage|returns?)|ships?\s+(?:for\s+)?free|"
    r"shipping\s+(?:is\s+)?(?:included|free)|postage\s+(?:is\s+)?(?:included|free)",
    "fast shipping": r"(?:fast|quick|speedy|rapid|express|priority)\s+(?:shipping|delivery|"
    r"dispatch|postage)|ships?\s+(?:fast|quickly)",
    "same day shipping": r"ships?\s+(?:the\s+)?same\s+day|same[\s-]day\s+(?:shipping|dispatch|"
    r"delivery)",
    "next day shipping": r"ships?\s+(?:the\s+)?next\s+day|next[\s-]day\s+(?:shipping|dispatch|"
    r"delivery)|overnight\s+(?:shipping|delivery)",
    "ships within": r"ships?\s+within\s+\d+\s*(?:business\s+)?(?:days?|hours?|hrs?)",
    "returns": r"(?:easy|hassle[\s-]free)\s+returns?|returns?\s+accepted|money[\s-]back",
}

ACCESSORIES = [
    "original box", "box", "packaging", "charger", "charging cable", "cable", "cord", "adapter",
    "case", "dust bag", "dustbag", "tags", "tag", "manual", "instructions", "receipt",
    "warranty card", "certificate", "authenticity card", "strap", "straps", "batteries",
    "battery", "remote", "controller", "earphones", "headphones", "lid", "cover", "pouch",
    "belt", "hanger", "extra buttons", "spare buttons", "cards", "stand", "accessories",
    "matching scarf", "scarf", "gift box",
]  # fmt: skip
# "belt loops", "strap detail": an accessory word used as part of the item, not included with it
_PART_NOUNS = r"(?:loops?|details?|closures?|pleats?|pockets?|hem|neck|print|holders?)\b"
_STRONG_INCLUDE = r"(?:comes?\s+with|includ(?:es?|ing)|bundled\s+with|along\s+with|plus)"

# brand names that are common words: never treated as a brand claim on their own
BRAND_STOPWORDS = {
    "basics", "handmade", "unbranded", "generic", "next", "style", "fashion", "kids", "home",
    "w", "only", "vero moda", "and", "free", "the", "new", "gap year", "love", "mango",
    "united", "people", "express", "guess", "coach", "bench", "h", "n", "v", "one", "soie",
    "classic", "bright", "nature", "gold", "silver", "apple", "orange", "black", "white",
    "original", "star", "sun", "day", "life", "premium", "vintage", "custom", "other",
}  # fmt: skip


def build_vocabulary(data_dir: Path) -> dict[str, list[str]]:
    """Brands and colours from the real data files under `data_dir` (../shared/data)."""
    import pandas as pd

    fashion = pd.read_csv(data_dir / "fashion_images" / "styles.csv.gz", usecols=["baseColour"])
    myntra = pd.read_csv(
        data_dir / "listings" / "myntra_products_catalog.csv",
        usecols=["Product_Brand", "Primary_Color"],
        dtype=str,
    )
    mercari = pd.read_csv(
        data_dir / "listings" / "mercari_us_2022_listings.csv", usecols=["brandName"], dtype=str
    )
    colours = pd.concat([fashion["baseColour"], myntra["Primary_Color"]]).dropna().str.strip()
    brands = pd.concat([myntra["Product_Brand"], mercari["brandName"]]).dropna().str.strip()
    colours = sorted({c.lower() for c in colours if c and c.upper() != "NA"})
    brands = sorted({b for b in brands if len(b) >= 2}, key=lambda b: (b.lower(), b))
    return {"colours": colours, "brands": brands}


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, list[str]]:
    """The vocabulary shipped with the package (``vocabulary.json``, made by build_vocabulary)."""
    return json.loads(VOCABULARY_PATH.read_text())


def _alternation(words: Iterable[str]) -> str:
    ordered = sorted({w for w in words if w}, key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"[\s-]+") for w in ordered)


def normalise_colour(text: str) -> str:
    """Lowercase, one space, synonyms mapped (gray -> grey, navy -> navy blue)."""
    key = re.sub(r"[\s-]+", " ", text.strip().lower())
    return COLOUR_SYNONYMS.get(key, key)


@lru_cache(maxsize=1)
def _patterns() -> dict[str, re.Pattern]:
    vocab = vocabulary()
    colours = (set(vocab["colours"]) | set(COLOUR_SYNONYMS) | set(EXTRA_COLOURS)) - (
        AMBIGUOUS_COLOURS
    )
    brands = [
        b
        for b in vocab["brands"]
        if b.lower() not in BRAND_STOPWORDS
        and normalise_colour(b) not in colours
        and b.lower() not in MATERIALS
        and len(b) >= 3
    ]
    number = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
    currency = r"\$|US\$|USD|₹|Rs\.?|INR|€|EUR|£|GBP|¥|₩|KRW|원"
    letter_size = r"(?:XXS|XS|S|M|L|XL|XXL|XXXL|[2-6]XL|[2-6]X|\d{1,2}T)"
    return {
        "brand": re.compile(rf"(?<![\w&])(?:{_alternation(brands)})(?![\w&])", re.I),
        "brand_label": re.compile(r"\bbrand(?:ed)?\s*(?::|is|-)\s*([A-Z][\w&'.-]*(?:\s[A-Z][\w&'.-]*)*)"),
        "colour": re.compile(rf"\b(?:{_alternation(colours)})\b", re.I),
        "material": re.compile(rf"\b(?:{_alternation(MATERIALS)})\b", re.I),
        "price": re.compile(
            rf"(?:(?:{currency})\s*({number})|({number})\s*(?:{currency}|dollars?|rupees?|"
            rf"bucks|euros?|pounds?)(?!\w)|\bpric(?:e|ed)(?:\s+(?:at|is|of))?\s*:?\s*({number}))",
            re.I,
        ),
        "size": re.compile(
            rf"\bsize[sd]?\s*(?::|-)?\s*((?:{letter_size}|\d+(?:\.\d+)?[A-Za-z]{{0,2}})(?![\w’'])"
            rf"(?:\s*\(\s*[\d.]+(?:\s*-\s*[\d.]+)?\s*\))?|one\s+size|free\s+size)"
            rf"|\b((?:XXS|XS|XXL|XXXL|[2-6]XL|XL))\b"
            rf"|\b(one\s+size(?:\s+fits\s+(?:all|most))?|free\s+size)\b",
            re.I,
        ),
        "number": re.compile(rf"(?<![\w.])({number})(?![\w.]*\d)", re.I),
        "condition": re.compile(
            rf"\bcondition\s*(?::|-|is)\s*({_alternation(CONDITION_LABEL_WORDS)})\b"
            rf"|(?<![\w-])({_alternation(CONDITION_PHRASES)})(?![\w-])",
            re.I,
        ),
        "shipping": re.compile("|".join(f"(?P<s{i}>{p})" for i, p in
                                        enumerate(SHIPPING_PATTERNS.values())), re.I),
        "accessory": re.compile(
            rf"\b(?:{_STRONG_INCLUDE}\s+(?:(?:a|an|the|its|their|his|her|all|original|extra|"
            rf"spare|matching)\s+)*(?:(?!price\b)[\w-]+\s+){{0,2}}?"
            rf"|with\s+(?:(?:a|an|the|its|their|original|extra|spare|matching)\s+)*)"
            rf"(?<!price\s)({_alternation(ACCESSORIES)})\b(?![\s-]+{_PART_NOUNS})"
            rf"((?:\s*(?:,|and|&)\s*(?:(?:a|an|the|its|original)\s+)*"
            rf"(?:{_alternation(ACCESSORIES)})\b)*)",
            re.I,
        ),
    }  # fmt: skip


_NOT_NEW_BRAND = re.compile(r"new\s+(?:york|balance|era|look|jersey|zealand|delhi|arrivals?)", re.I)


def _is_headline_new(text: str, start: int) -> bool:
    """A bare "new" is a condition claim only as "NEW" or at the start of a sentence or line
    ("New Nike tee", "NEW!"); "we post new shoes every week" is not."""
    if text[start : start + 3] == "NEW":
        return True
    before = text[:start].rstrip(" \t\"'*(")
    return before == "" or before[-1] in ".!?\n:;-|"


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in taken)


def extract_claims(text: str) -> list[Claim]:
    """Every checkable claim in `text`, in order of position (spans never overlap)."""
    pats = _patterns()
    claims: list[Claim] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int, value: str) -> None:
        if _overlaps((start, end), taken):
            return
        taken.append((start, end))
        claims.append(Claim(kind, text[start:end], value, start, end))

    for m in pats["shipping"].finditer(text):
        key = list(SHIPPING_PATTERNS)[int(m.lastgroup[1:])]
        add("shipping", m.start(), m.end(), key)
    for m in pats["condition"].finditer(text):
        if m.group(1):
            add("condition", m.start(), m.end(), "label:" + re.sub(r"[\s-]+", " ", m.group(1).lower()))
            continue
        phrase = re.sub(r"\s+", " ", m.group(2).lower())
        if phrase == "new" and (
            _NOT_NEW_BRAND.match(text, m.start()) or not _is_headline_new(text, m.start(2))
        ):
            continue
        add("condition", m.start(), m.end(), phrase)
    for m in pats["accessory"].finditer(text):
        names = [m.group(1), *re.findall(_alternation(ACCESSORIES), m.group(2) or "", re.I)]
        start = m.start(1)
        for name in names:
            value = re.sub(r"[\s-]+", " ", name.lower())
            value = {"tag": "tags", "dustbag": "dust bag", "battery": "batteries"}.get(value, value)
            pos = text.lower().find(name.lower(), start)
            add("accessory", pos, pos + len(name), value)
            start = pos + len(name)
    for m in pats["price"].finditer(text):
        raw = next(g for g in m.groups() if g)
        add("price", m.start(), m.end(), _number_value(raw))
    for m in pats["size"].finditer(text):
        raw = next(g for g in m.groups() if g)
        add("size", m.start(), m.end(), re.sub(r"\s+", " ", raw.strip()).upper())
    for m in pats["brand_label"].finditer(text):
        add("brand", m.start(1), m.end(1), m.group(1).strip().lower())
    for m in pats["brand"].finditer(text):
        if m.group(0)[0].isupper() or m.group(0)[0].isdigit():
            add("brand", m.start(), m.end(), re.sub(r"\s+", " ", m.group(0).lower()))
    for m in pats["material"].finditer(text):
        add("material", m.start(), m.end(), re.sub(r"[\s-]+", " ", m.group(0).lower()))
    for m in pats["colour"].finditer(text):
        add("colour", m.start(), m.end(), normalise_colour(m.group(0)))
    for m in pats["number"].finditer(text):
        add("number", m.start(1), m.end(1), _number_value(m.group(1)))
    claims.sort(key=lambda c: c.start)
    return claims


def _number_value(raw: str) -> str:
    value = float(raw.replace(",", ""))
    return f"{value:.15g}" if value < 1e15 else raw


# ---------------------------------------------------------------- checking
def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", text.lower()))


def _numbers(text: str) -> set[float]:
    return {float(n.replace(",", "")) for n in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", text)}


def _colour_supported(value: str, facts: Mapping[str, str], fact_claims: list[Claim]) -> bool:
    known = [normalise_colour(facts["colour"])] if facts.get("colour") else []
    known += [c.value for c in fact_claims if c.kind == "colour"]
    claim_words = set(value.split())
    for colour in known:
        words = set(colour.split())
        if claim_words <= words or words <= claim_words:
            return True
    return False


def _size_tokens(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", text.lower())) - {"size", "fits", "all"}


def _size_supported(value: str, facts: Mapping[str, str], fact_claims: list[Claim]) -> bool:
    if value.lower() in {"one size", "free size"}:
        return any("one size" in v.lower() or "free size" in v.lower() for v in facts.values())
    known = [facts["size"]] if facts.get("size") else []
    known += [c.value for c in fact_claims if c.kind == "size"]
    tokens = _size_tokens(value)
    return bool(tokens) and any(tokens <= _size_tokens(k) for k in known)


def _price_supported(value: str, facts: Mapping[str, str], fact_claims: list[Claim]) -> bool:
    known = [float(facts["price"])] if facts.get("price") else []
    known += [float(c.value) for c in fact_claims if c.kind == "price"]
    amount = float(value)
    return any(abs(amount - k) <= max(0.01, 0.01 * abs(k)) for k in known)


def _condition_supported(value: str, facts: Mapping[str, str], fact_claims: list[Claim]) -> bool:
    condition = facts.get("condition")
    if value.startswith("label:"):
        allowed = CONDITION_LABEL_WORDS.get(value[6:], set())
    else:
        allowed = CONDITION_PHRASES.get(value, set())
    if condition and condition in allowed:
        return True
    return any(c.kind == "condition" and c.value == value for c in fact_claims)


_FORM_KEYS = {
    "title", "brand", "colour", "category", "gender", "condition", "size", "material", "price",
    "currency", "notes", "usage", "season", "sub_category", "master_category",
}  # fmt: skip


def check_claims(
    claims: Iterable[Claim], facts: Mapping[str, str]
) -> tuple[list[Claim], list[Claim]]:
    """Split claims into (supported, unsupported) by the facts (see the module docstring)."""
    # a free-form fact's name is a fact too ("total metal weight: 5 grams" supports "metal")
    fact_text = " . ".join(
        str(v) if k in _FORM_KEYS else f"{k.replace('_', ' ')} {v}" for k, v in facts.items()
    )
    fact_claims = extract_claims(fact_text)
    fact_words = _words(fact_text)
    fact_numbers = _numbers(fact_text)
    supported: list[Claim] = []
    unsupported: list[Claim] = []
    for claim in claims:
        kind, value = claim.kind, claim.value
        if kind == "colour":
            ok = _colour_supported(value, facts, fact_claims)
        elif kind == "size":
            ok = _size_supported(value, facts, fact_claims)
        elif kind == "price":
            ok = _price_supported(value, facts, fact_claims)
        elif kind == "number":
            ok = float(value) in fact_numbers
        elif kind == "condition":
            ok = _condition_supported(value, facts, fact_claims)
        elif kind == "shipping":
            ok = any(c.kind == "shipping" and c.value == value for c in fact_claims)
        elif kind in {"brand", "material", "accessory"}:
            words = _words(value)
            brand = facts.get("brand", "").lower()
            ok = bool(words) and (
                (kind == "brand" and brand != "" and (value == brand or words <= _words(brand)))
                or re.search(rf"(?<!\w){re.escape(value)}(?!\w)", fact_text.lower()) is not None
                or (kind == "accessory" and words <= fact_words)
            )
        else:
            ok = False
        (supported if ok else unsupported).append(claim)
    return supported, unsupported
