"""The hallucination guard: check a draft's claims against the facts; regenerate, then cut.

IPL (Xianyu, "Intelligent Product Listing") reduces hallucination by tuning the model on
the platform's data. A laptop cannot do that for every seller, so shopml checks instead:

1. extract the draft's claims and check them (:mod:`shopml.listing.claims`);
2. if some are unsupported and a ``regenerate`` callback is given, ask the backend again
   with feedback naming them ("your previous draft said ... leave them out"), up to
   `rounds` times, keeping the draft with the fewest unsupported claims;
3. remove what is still unsupported, **sentence by sentence**: every sentence (or line)
   holding an unsupported claim is dropped whole. Cutting only the span ("made of [cotton]")
   leaves broken grammar and often a half-claim ("100%"), so a whole sentence goes; the
   price is losing the true words in that sentence, which the result reports as
   ``removed_sentences``;
4. if nothing is left, the deterministic template composition of the facts is used
   (``fallback=True``), so a verified draft is never empty and never false.

The result carries the removed claims (with the sentences they sat in).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from shopml.listing.claims import Claim, check_claims, extract_claims

_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(*•$€£₹-])|\n+")


@dataclass
class VerificationResult:
    """A verified text and what verification did to get there."""

    text: str
    removed_claims: list[Claim] = field(default_factory=list)
    kept_claims: list[Claim] = field(default_factory=list)
    removed_sentences: list[str] = field(default_factory=list)
    feedback_claims: list[Claim] = field(default_factory=list)
    rounds: int = 0
    fallback: bool = False


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or line of `text` (abbreviations like 'U.S.' kept whole)."""
    spans = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group(0).strip(" \t") == "":  # a sentence end, not a newline
            before = text[start : m.start()].rsplit(None, 1)
            last = before[-1] if before else ""
            if re.fullmatch(r"(?:[A-Za-z]\.){2,}|Rs\.|No\.|St\.|Mr\.|Ms\.|Dr\.|approx\.", last):
                continue
        if text[start : m.start()].strip():
            spans.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return spans


def remove_sentences(text: str, claims: Sequence[Claim]) -> tuple[str, list[str]]:
    """Drop each sentence holding one of `claims` (by span); return (text, dropped sentences)."""
    kept_lines: list[list[str]] = [[]]
    dropped = []
    previous_end = 0
    for start, end in sentence_spans(text):
        if "\n" in text[previous_end:start] and kept_lines[-1]:
            kept_lines.append([])
        previous_end = end
        sentence = text[start:end].strip()
        if any(c.start < end and start < c.end for c in claims):
            dropped.append(sentence)
        else:
            kept_lines[-1].append(sentence)
    out = "\n".join(" ".join(line) for line in kept_lines if line)
    return out, dropped


def unsupported_claims(text: str, facts: Mapping[str, str]) -> list[Claim]:
    """The claims of `text` that the facts do not support."""
    return check_claims(extract_claims(text), facts)[1]


def verify_draft(
    text: str,
    facts: Mapping[str, str],
    regenerate: Callable[[list[str]], str] | None = None,
    rounds: int = 0,
    fallback_text: str | None = None,
) -> VerificationResult:
    """Verify `text` against `facts`: optional feedback rounds, then sentence removal."""
    best_text, best_bad = text, unsupported_claims(text, facts)
    feedback: list[Claim] = []
    used = 0
    while best_bad and regenerate is not None and used < rounds:
        used += 1
        feedback.extend(best_bad)
        notes = sorted({f"{c.kind} '{c.text}'" for c in feedback})
        candidate = regenerate(notes)
        bad = unsupported_claims(candidate, facts)
        if len(bad) < len(best_bad):
            best_text, best_bad = candidate, bad
    cut, dropped = remove_sentences(best_text, best_bad)
    fallback = False
    if not cut.strip():
        cut, fallback = (fallback_text or ""), True
        # the fallback is the facts themselves; checking it keeps the guarantee explicit
        cut, extra = remove_sentences(cut, unsupported_claims(cut, facts))
        dropped += extra
    kept = check_claims(extract_claims(cut), facts)[0]
    return VerificationResult(
        text=cut,
        removed_claims=best_bad,
        kept_claims=kept,
        removed_sentences=dropped,
        feedback_claims=feedback,
        rounds=used,
        fallback=fallback,
    )
