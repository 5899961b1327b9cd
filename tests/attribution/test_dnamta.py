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
