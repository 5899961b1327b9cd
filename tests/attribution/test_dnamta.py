"""DNAMTA on a tiny synthetic set where only one channel causes conversions."""

import re

import numpy as np
import pandas as pd
import pytest

from shopml.attribution import attribute, build_journeys
from shopml.attribution.dnamta import DNAMTA, DNAMTAConfig, user_split


@pytest.fixture(scope="module")
def journeys():
    # 3000 users, 1-6 touches of channels x / y / z; converting iff the journey holds an x
    # touch and a coin (p = .8) lands; y and z are noise. Context: one field with 3 codes.
    rng = np.random.default_rng(0)
    n = 3000
    length = rng.integers(1, 7, n)
    user = np.repeat(np.arange(n), length)
    channel = rng.choice(["x", "y", "z"], len(user), p=[0.2, 0.4, 0.4])
    ts = np.arange(len(user)) * 3600
    touch = pd.DataFrame({"user_id": user, "ts": ts, "channel": channel})
    has_x = pd.Series(channel == "x").groupby(user).any().to_numpy()
    conv_users = np.flatnonzero(has_x & (rng.random(n) < 0.8))
    last_ts = pd.Series(ts).groupby(user).max().to_numpy()
    conv = pd.DataFrame({"user_id": conv_users, "ts": last_ts[conv_users] + 60})
    context = pd.DataFrame({"segment": rng.integers(0, 3, n)}, index=np.arange(n))
    return build_journeys(touch, conv, context=context)


def test_user_split_is_disjoint(journeys):
    train, test = user_split(journeys, 0.2, seed=3)
    users = journeys.table["user_id"].to_numpy()
    assert not set(users[train]) & set(users[test])
    assert len(train) + len(test) == journeys.n_journeys
    assert abs(len(test) / journeys.n_journeys - 0.2) < 0.01


def test_dnamta_predicts_and_credits_the_causal_channel(journeys):
    result = attribute(journeys, "dnamta", seed=0, epochs=6, batch_size=128, lr=1e-2)
    assert result.extras["auc"] > 0.85  # held-out users only
    assert result.extras["log_loss"] < 0.5
    assert result.extras["n_test"] > 500
    assert np.allclose(result.journey_credit.sum(axis=1), 1.0)
    share = result.shares()
    assert share["x"] > 0.5  # attention concentrates on the channel that causes conversion


def test_attention_sums_to_one_per_journey_and_truncates(journeys):
    model = DNAMTA(DNAMTAConfig(epochs=1, max_len=3), seed=1).fit(journeys)
    att = model.touch_attention(journeys)
    per_journey = np.bincount(journeys.touches["journey"].to_numpy(), weights=att)
    assert np.allclose(per_journey, 1.0, atol=1e-6)
    early = (journeys.touches["length"] - journeys.touches["position"] > 3).to_numpy()
    assert early.any() and np.all(att[early] == 0)  # cut by max_len
    p = model.predict_proba(journeys)
    assert p.shape == (journeys.n_journeys,) and np.all((p > 0) & (p < 1))


def test_training_progress_in_a_log_file_is_plain_lines(journeys, capsys):
    DNAMTA(DNAMTAConfig(epochs=2, batch_size=1000), seed=0).fit(journeys, progress=True)
    err = capsys.readouterr().err  # captured: not a terminal, as a log file
    assert "\r" not in err
    assert err.splitlines()[-1].startswith("DNAMTA training: 6/6 batches (100%)")


def test_predict_before_fit_is_refused(journeys):
    with pytest.raises(RuntimeError, match="fit"):
        DNAMTA().predict_proba(journeys)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"epochs": 0}, "epochs=0"),
        ({"batch_size": 2.5}, "batch_size=2.5"),
        ({"lr": -1.0}, "lr=-1.0"),
        ({"test_fraction": 1.0}, "test_fraction=1.0"),
        ({"hidden": True}, "hidden=True"),
        ({"heads": 2}, "no option ['heads']"),
    ],
)
def test_bad_configuration_is_named(options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        DNAMTAConfig.from_options(options)


def test_rule_options_are_checked_against_their_signature():
    from shopml.attribution.base import check_options

    check_options("time_decay", {"half_life_days": 3.0})
    check_options("dnamta", {"epochs": 2})
    with pytest.raises(ValueError, match=re.escape("markov has no option ['order']")):
        check_options("markov", {"order": 2})


@pytest.fixture(scope="module")
def fitted(journeys):
    return DNAMTA(DNAMTAConfig(epochs=1), seed=0).fit(journeys)


def _new_journeys(paths, channels=None, segment=(0, 1)):
    """Unconverted journeys of users 0..len(paths)-1, a touch an hour apart, with context."""
    user = np.repeat(np.arange(len(paths)), [len(p) for p in paths])
    touch = pd.DataFrame({"user_id": user, "ts": np.arange(len(user)) * 3600,
                          "channel": [c for p in paths for c in p]})  # fmt: skip
    context = pd.DataFrame({"segment": list(segment)[: len(paths)]})
    return build_journeys(touch, channels=channels, context=context)


def test_new_journeys_are_scored_by_channel_name_not_code(journeys, fitted):
    """New journeys built on their own list their channels ['y', 'z'], codes 0 and 1, which
    are 'x' and 'y' to the model; before, they were scored as those channels."""
    paths = [["y", "z"], ["z"]]
    own = _new_journeys(paths)
    assert own.channels == ["y", "z"]
    aligned = _new_journeys(paths, channels=journeys.channels)
    np.testing.assert_array_equal(fitted.predict_proba(own), fitted.predict_proba(aligned))
    np.testing.assert_array_equal(fitted.touch_attention(own), fitted.touch_attention(aligned))


def test_new_journeys_with_an_unknown_channel_or_without_context_are_named(fitted):
    with pytest.raises(ValueError, match=r"channel\(s\) \['tv'\] that the model was not trained"):
        fitted.predict_proba(_new_journeys([["x", "tv"]]))
    bare = _new_journeys([["x"], ["y"]])
    bare.context = None
    with pytest.raises(ValueError, match=r"trained with user context \['segment'\]; these journeys lack"):
        fitted.predict_proba(bare)
    with pytest.raises(ValueError, match=r"context field 'segment' of journey 1 is 7; the model knows codes 0..2"):
        fitted.predict_proba(_new_journeys([["x"], ["y"]], segment=(0, 7)))


def test_dnamta_on_a_single_user_says_it_needs_two():
    """Before: ZeroDivisionError (the one user was held out, nothing left to train on)."""
    touch = pd.DataFrame({"user_id": [1, 1], "ts": [0, 60], "channel": ["a", "b"]})
    one_user = build_journeys(touch, pd.DataFrame({"user_id": [1], "ts": [120]}))
    with pytest.raises(ValueError, match=r"hold 1 user\(s\).*needs at least two users"):
        attribute(one_user, "dnamta", epochs=1)
