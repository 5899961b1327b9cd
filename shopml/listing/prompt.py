"""The generation prompt: facts + retrieved style references + the platform's style rules.

IPL (Xianyu, "Intelligent Product Listing") conditions the generator on the attributes read
from the photos and on similar past listings retrieved from the platform, so the draft
follows the platform's own style. ModICT ("Multimodal In-Context Tuning for Product
Description Generation", arXiv 2402.13587) shows that one or a few in-context references
from similar products raise ROUGE-L and distinct-n. The prompt here is that recipe, kept
short enough for SmolLM2-135M (a 2k-token budget with room for the answer): at most `k`
references, each cut to ~`max_reference_chars` characters, and explicit rules that forbid
any claim not in the facts. The references are marked as style examples about *other*
items, because a small model otherwise copies their brands, sizes and prices — those copies
are exactly what the claim checker (``verify.py``) catches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

SYSTEM = (
    "You write short, honest listings for a second-hand marketplace. "
    "Use only the facts given. Never invent a brand, material, size, price, "
    "shipping promise or included accessory."
)
STYLE_RULES = (
    "Rules: 2 to 4 short sentences. Mention the brand, colour, item type, condition, size "
    "and price if given. Do not add anything that is not in the facts."
)
FACT_LABELS = {
    "title": "Title",
    "brand": "Brand",
    "category": "Item",
    "colour": "Colour",
    "gender": "For",
    "condition": "Condition",
    "size": "Size",
    "material": "Material",
    "price": "Price",
    "usage": "Use",
    "season": "Season",
    "notes": "Seller notes",
}


def format_facts(facts: Mapping[str, str]) -> str:
    """One 'Label: value' line per fact (price with its currency)."""
    lines = []
    for key, value in facts.items():
        if key in {"currency", "sub_category", "master_category"} or not value:
            continue
        if key == "price" and facts.get("currency"):
            value = f"{value} {facts['currency']}"
        label = FACT_LABELS.get(key, key.replace("_", " ").capitalize())
        lines.append(f"- {label}: {value}")
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " ..."


def build_prompt(
    facts: Mapping[str, str],
    references: Sequence[str] = (),
    max_reference_chars: int = 240,
    feedback: Sequence[str] = (),
    rules: str = STYLE_RULES,
    example_intro: str = "Listings of OTHER similar items, for style only (do not copy their facts):",
) -> tuple[str, str]:
    """(system, prompt) for a listing draft; `feedback` lists claims a previous draft invented."""
    parts = [f"Facts about the item:\n{format_facts(facts)}"]
    if references:
        examples = "\n".join(
            f"Example {i}: {_clip(ref, max_reference_chars)}" for i, ref in enumerate(references, 1)
        )
        parts.append(f"{example_intro}\n{examples}")
    parts.append(rules)
    if feedback:
        parts.append(
            "Your previous draft said things that are not in the facts: "
            + "; ".join(feedback)
            + ". Leave them out."
        )
    parts.append("Listing:" if rules == STYLE_RULES else "Sentence:")
    return SYSTEM, "\n\n".join(parts)
