"""Verification: sentence removal, feedback rounds, fallback."""

from shopml.listing.verify import remove_sentences, sentence_spans, verify_draft

FACTS = {"brand": "Nike", "colour": "Black", "condition": "good", "price": "25", "size": "M"}


def test_sentence_spans_keep_abbreviations_and_prices_whole():
    text = "U.S. Polo tee. Rs. 899 only! Size M\nGood condition."
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "U.S. Polo tee.",
        "Rs. 899 only!",
        "Size M",
        "Good condition.",
    ]


def test_unsupported_sentences_are_removed_and_reported():
    draft = "Black Nike tee in good condition. Brand new with free shipping! Size M. Only $25."
    result = verify_draft(draft, FACTS)
    assert result.text == "Black Nike tee in good condition. Size M. Only $25."
    assert [(c.kind, c.value) for c in result.removed_claims] == [
        ("condition", "brand new"),
        ("shipping", "free shipping"),
    ]
    assert result.removed_sentences == ["Brand new with free shipping!"]
    assert not result.fallback and result.rounds == 0


def test_line_structure_is_kept():
    text, dropped = remove_sentences("Title line\nA. B.\nC.", [])
    assert text == "Title line\nA. B.\nC." and dropped == []


def test_feedback_round_regenerates_and_keeps_the_better_draft():
    asked = []

    def regenerate(notes):
        asked.append(notes)
        return "Black Nike tee, size M, $25."

    result = verify_draft("Red Adidas tee.", FACTS, regenerate=regenerate, rounds=2)
    assert asked == [["brand 'Adidas'", "colour 'Red'"]]  # stops once nothing is unsupported
    assert result.text == "Black Nike tee, size M, $25." and result.rounds == 1
    assert result.removed_claims == [] and len(result.feedback_claims) == 2


def test_everything_false_falls_back_to_the_facts():
    result = verify_draft("Red Adidas tee. Free shipping.", FACTS, fallback_text="Nike tee. $25.")
    assert result.fallback and result.text == "Nike tee. $25."
    assert len(result.removed_claims) == 3
