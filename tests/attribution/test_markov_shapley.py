"""Markov removal effects and Shapley values on hand-built journeys (computed by hand)."""

import numpy as np
import pytest

from shopml.attribution import attribute
from shopml.attribution.journeys import journeys_from_paths
from shopml.attribution.markov import removal_effects, transition_counts
from shopml.attribution.shapley import simplified_shapley, subgame_shapley

# Markov example: a > b (conv), b (null), a > c (conv), c > a (null).
# Transitions: start->a 2, start->b 1, start->c 1; a->b 1, a->c 1, a->null 1;
# b->conv 1, b->null 1; c->conv 1, c->a 1.
# Absorption x: x_b = 1/2; x_c = 1/2 + x_a/2; x_a = x_b/3 + x_c/3 = 1/3 + x_a/6 -> x_a = 2/5,
# x_c = 7/10; x_start = (2 x_a + x_b + x_c)/4 = 1/2.
# Remove a: x_start = (x_b + 1/2)/4 = 1/4 -> RE_a = 1 - (1/4)/(1/2) = 1/2.
# Remove b: x_a = x_c/3, x_c = 1/2 + x_a/2 -> x_a = 1/5, x_c = 3/5; x_start = (2/5 + 3/5)/4 = 1/4
#   -> RE_b = 1/2.
# Remove c: x_a = x_b/3 = 1/6; x_start = (1/3 + 1/2)/4 = 5/24 -> RE_c = 1 - 5/12 = 7/12.
# Channel credit = 2 conversions x RE / sum(RE) = 2 x (6, 6, 7)/19.
MARKOV_PATHS = [["a", "b"], ["b"], ["a", "c"], ["c", "a"]]
MARKOV_CONV = [1, 0, 1, 0]


def test_transition_counts():
    counts = transition_counts(journeys_from_paths(MARKOV_PATHS, MARKOV_CONV))
    # states: 0 start, 1 a, 2 b, 3 c, 4 conversion, 5 null
    expected = np.zeros((6, 6))
    for src, dst, n in [
        (0, 1, 2),
        (0, 2, 1),
        (0, 3, 1),
        (1, 2, 1),
        (1, 3, 1),
        (1, 5, 1),
        (2, 4, 1),
        (2, 5, 1),
        (3, 4, 1),
        (3, 1, 1),
    ]:
        expected[src, dst] = n
    assert np.array_equal(counts, expected)


def test_removal_effects_by_hand():
    effects, p_conv = removal_effects(journeys_from_paths(MARKOV_PATHS, MARKOV_CONV))
    assert p_conv == pytest.approx(0.5)
    assert effects == pytest.approx([0.5, 0.5, 7 / 12])
    result = attribute(journeys_from_paths(MARKOV_PATHS, MARKOV_CONV), "markov")
    assert result.channel_conversions == pytest.approx(np.array([6, 6, 7]) * 2 / 19)
    # per journey: a > b splits 1:1 (equal removal effects); a > c splits 6:7
    assert result.journey_credit == pytest.approx(np.array([[0.5, 0.5, 0], [6 / 13, 0, 7 / 13]]))


def test_repeated_touches_do_not_change_removal_effects():
    # a self-loop a -> a leaves every absorption probability unchanged
    paths = [["a", "a", "b"], ["b"], ["a", "c"], ["c", "a", "a"]]
    effects, _ = removal_effects(journeys_from_paths(paths, MARKOV_CONV))
    assert effects == pytest.approx([0.5, 0.5, 7 / 12])


def test_markov_matches_channelattribution():
    ca = pytest.importorskip("ChannelAttribution")
    import pandas as pd

    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 5, 400)
    channels = np.array(list("abcd"))
    weights = np.array([0.1, 0.5, 0.3, 0.2])
    paths = [list(rng.choice(channels, n, p=weights / weights.sum())) for n in lengths]
    conv = [int(rng.random() < 0.15 + 0.3 * ("b" in p)) for p in paths]
    ours, _ = removal_effects(journeys_from_paths(paths, conv))
    frame = pd.DataFrame(
        {"path": [" > ".join(p) for p in paths], "conv": conv, "null": [1 - c for c in conv]}
    )
    # max_step given: ChannelAttribution's default truncates simulated walks on cycles
    ref = ca.markov_model(
        frame,
        "path",
        "conv",
        var_null="null",
        out_more=True,
        verbose=0,
        flg_pro=False,
        max_step=100,
        nsim_start=1e5,
        seed=1,
    )["removal_effects"]
    theirs = ref.set_index("channel_name").loc[list("abcd"), "removal_effect"].to_numpy()
    assert ours == pytest.approx(theirs, abs=0.02)  # theirs is simulated (1e5 walks)


def test_subgame_shapley_three_players_by_hand():
    # v(a)=.1 v(b)=.2 v(c)=.3 v(ab)=.4 v(ac)=.5 v(bc)=.6 v(abc)=.9 (bit 0 = a, 1 = b, 2 = c)
    # phi_a = 1/3 .1 + 1/6 (.4-.2) + 1/6 (.5-.3) + 1/3 (.9-.6) = .2
    # phi_b = 1/3 .2 + 1/6 (.4-.1) + 1/6 (.6-.3) + 1/3 (.9-.5) = .3
    # phi_c = 1/3 .3 + 1/6 (.5-.1) + 1/6 (.6-.2) + 1/3 (.9-.4) = .4
    values = np.array([0, 0.1, 0.2, 0.4, 0.3, 0.5, 0.6, 0.9])
    phi = subgame_shapley(values, 3)
    assert phi[0b111] == pytest.approx([0.2, 0.3, 0.4])
    # game on {a, b}: phi_a = 1/2 .1 + 1/2 (.4-.2) = .15, phi_b = 1/2 .2 + 1/2 (.4-.1) = .25
    assert phi[0b011] == pytest.approx([0.15, 0.25, 0.0])
    assert phi[0b001] == pytest.approx([0.1, 0.0, 0.0])


def test_shapley_attribution_by_hand():
    # {a}: 5 journeys, 1 converts (v = .2); {b}: 2 journeys, 1 converts (v = .5);
    # {a, b}: 5 journeys, 3 convert (v = .6).
    # phi_a = 1/2 (.2) + 1/2 (.6 - .5) = .15; phi_b = 1/2 (.5) + 1/2 (.6 - .2) = .45
    # a converted {a,b} journey: a .15/.6 = 1/4, b 3/4.
    # credit: a = 1 + 3 x 1/4 = 1.75; b = 1 + 3 x 3/4 = 3.25
    paths = [["a"]] * 5 + [["b"]] * 2 + [["a", "b"]] * 3 + [["b", "a"]] * 2
    conv = [1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 0]  # per group: {a} 1/5, {b} 1/2, {a,b} 3/5
    result = attribute(journeys_from_paths(paths, conv), "shapley")
    assert result.channel_conversions == pytest.approx([1.75, 3.25])
    assert result.journey_credit[-1] == pytest.approx([0.25, 0.75])
    assert result.extras["full_game_shapley"] == pytest.approx({"a": 0.15, "b": 0.45})


def test_simplified_shapley_is_exact_shapley_of_the_cumulative_game():
    # Zhao et al.: with v(S) = sum of conversions of journeys whose channel set is inside S,
    # the exact Shapley value is sum over S containing j of R(S)/|S|.
    paths = [["a"], ["a", "b"], ["b", "c"], ["a", "b", "c"], ["c"], ["a", "c", "a"]]
    conv = [1, 1, 1, 1, 0, 1]
    j = journeys_from_paths(paths, conv)
    # by hand: a = 1 + 1/2 + 1/3 + 1/2 = 7/3; b = 1/2 + 1/2 + 1/3 = 4/3; c = 1/2 + 1/3 + 1/2 = 4/3
    simplified = simplified_shapley(j)
    assert simplified == pytest.approx([7 / 3, 4 / 3, 4 / 3])
    masks = j.channel_masks()
    r = np.bincount(masks, weights=j.converted.astype(float), minlength=8)
    cumulative = np.array([r[[t for t in range(8) if t & s == t]].sum() for s in range(8)])
    assert subgame_shapley(cumulative, 3)[0b111] == pytest.approx(simplified)


def test_too_many_channels_is_refused():
    with pytest.raises(ValueError, match="limited to 10"):
        subgame_shapley(np.zeros(1 << 11), 11)
