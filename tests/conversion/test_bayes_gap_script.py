"""benchmarks/bayes_gap.py helpers: the pair-cross design and the card names of variants."""

import argparse

import numpy as np

from tests.conversion import load_benchmark


def test_pair_crosses_codes_each_interacting_pair_once():
    bench = load_benchmark("bayes_gap")
    names = ["u_0", "u_2", "u_3", "u_4", "u_5", "i_0", "i_4", "c_5"]
    cards = [3, 5, 4, 8, 10, 7, 6, 2]
    x = np.array([[2, 4, 3, 7, 9, 6, 5, 1], [0, 0, 0, 0, 0, 0, 0, 0]])
    crossed, vocab = bench.pair_crosses(x, names, cards)
    assert crossed.shape == (2, 8 + 5)
    np.testing.assert_array_equal(crossed[:, :8], x)
    # PAIRS: (u_2, i_0), (u_0, i_0), (u_4, i_0), (u_5, i_4); then promotion x crowd (u_3, c_5)
    np.testing.assert_array_equal(
        crossed[0, 8:], [4 * 7 + 6, 2 * 7 + 6, 7 * 7 + 6, 9 * 6 + 5, 3 * 2 + 1]
    )
    np.testing.assert_array_equal(crossed[1, 8:], 0)
    assert vocab == [*cards, 5 * 7, 3 * 7, 8 * 7, 10 * 6, 4 * 2]
    assert (crossed[:, 8:] < np.array(vocab[8:])).all()


def test_card_names_keep_the_default_study_and_separate_variants():
    bench = load_benchmark("bayes_gap")

    def args(**kw):
        base = dict(preset="cascade", clicks=2_000_000, seed=1, blank="", crosses=False,
                    per_epoch=False, lr_c="0.5", zero_effects="")  # fmt: skip
        return argparse.Namespace(**(base | kw))

    assert bench._card_name(args(), {}) is None
    assert bench._card_name(args(clicks=4_000_000), {}) == "bayes_gap-cascade-4000000-seed1"
    name = bench._card_name(
        args(clicks=4_000_000, blank="u_1,i_2", crosses=True, lr_c="0.1,0.03"), {"drift_sd": 0.0}
    )
    assert (
        name == "bayes_gap-cascade-drift_sd0-blank_u_1-blank_i_2-crosses-lr_c0.1_0.03-4000000-seed1"
    )
    assert (
        bench._card_name(args(zero_effects="u_1,i_2"), {})
        == "bayes_gap-cascade-zeroed_u_1-zeroed_i_2-2000000-seed1"
    )
    assert (
        bench._dataset_name(args(blank="u_1"), {"drift_sd": 0.0})
        == "cascade[drift_sd=0.0,blank=u_1]"
    )
    assert bench._dataset_name(args(zero_effects="u_1"), {}) == "cascade[zeroed=u_1]"


def test_zeroed_main_effects_keeps_every_other_draw_and_restores_the_world():
    from shopml.data.simulate import simulate
    from shopml.data.simulate.world import World

    bench = load_benchmark("bayes_gap")
    draw = World.code_table
    full = simulate("cascade", 20_000, 3)
    with bench.zeroed_main_effects({"u_1", "i_2"}):
        reduced = simulate("cascade", 20_000, 3)
    assert World.code_table is draw
    np.testing.assert_array_equal(reduced.log.column("click_id"), full.log.column("click_id"))
    np.testing.assert_array_equal(reduced.log.column("u_1"), full.log.column("u_1"))
    p_full, p_reduced = full.truth["p_pay"].to_numpy(), reduced.truth["p_pay"].to_numpy()
    assert not np.allclose(p_full, p_reduced)  # the id effects moved the truth ...
    assert np.corrcoef(p_full, p_reduced)[0, 1] > 0.9  # ... but are a small part of it
