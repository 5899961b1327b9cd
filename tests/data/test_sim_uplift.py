"""The uplift simulator preset: truth effects vs realised arm differences, chain, round trip."""

import numpy as np
import pytest

from shopml.data import EventLog
from shopml.data.simulate import presets, simulate
from shopml.data.simulate.uplift import ARM_PROBS, STAGES, simulate_uplift

N = 200_000
DAY = 86_400


@pytest.fixture(scope="module")
def sim():
    return simulate("uplift", N, seed=11)


def outcomes(log: EventLog) -> dict[str, np.ndarray]:
    meta = log.spec.meta
    return {
        "impression": log.column("exposure").astype(np.int8),
        "click": log.converted(meta["click_window_s"], kind="click"),
        "conversion": log.converted(meta["conversion_window_s"], kind="conversion"),
    }


def test_layout(sim):
    assert "uplift" in presets()
    log = sim.log
    assert log.n_clicks == N and sim.truth.num_rows == N
    spec = log.spec
    assert len(spec.by_kind("categorical")) == 8 and len(spec.by_kind("numeric")) == 6
    assert spec.meta["arm_probs"] == list(ARM_PROBS)
    treatment = log.column("treatment")
    shares = np.bincount(treatment, minlength=len(ARM_PROBS)) / N
    np.testing.assert_allclose(shares, ARM_PROBS, atol=0.01)
    for f in spec.by_kind("categorical"):
        col = log.column(f.name)
        assert col.min() >= 0 and col.max() < f.cardinality


def test_chain_order(sim):
    log = sim.log
    y = outcomes(log)
    assert (y["click"] <= y["impression"]).all()  # click only if exposed
    assert (y["conversion"] <= y["click"]).all()  # conversion only after a click
    click_ts = log.first_event_ts("click")
    conv_ts = log.first_event_ts("conversion")
    conv = y["conversion"] == 1
    assert (conv_ts[conv] > click_ts[conv]).all()
    rows, _, amount = log.events_of("pay")
    assert len(rows) == conv.sum() and (amount > 0).all()
    # every event is inside its declared window, so labels equal the full outcomes
    assert log.converted(10 * DAY, kind="click").sum() == y["click"].sum()
    assert log.converted(10 * DAY, kind="conversion").sum() == y["conversion"].sum()


def test_truth_effects_match_realised_differences(sim):
    """Acceptance: mean true effect = realised difference of arm rates within 4 standard errors."""
    truth = sim.truth.to_pandas()
    y = outcomes(sim.log)
    t = sim.log.column("treatment")
    control = t == 0
    for stage in STAGES:
        p_chain = truth[f"p_{stage}_arm0"]
        if stage == "conversion":
            np.testing.assert_allclose(
                p_chain,
                truth["p_impression_arm0"]
                * truth["p_click_given_impression_arm0"]
                * truth["p_conversion_given_click_arm0"],
            )
        for a in range(1, len(ARM_PROBS)):
            arm = t == a
            tau = truth[f"tau_{stage}_arm{a}"].to_numpy()
            diff = y[stage][arm].mean() - y[stage][control].mean()
            se = np.sqrt(y[stage][arm].var() / arm.sum() + y[stage][control].var() / control.sum())
            assert abs(tau.mean() - diff) < 4 * se, (stage, a, tau.mean(), diff, se)
            np.testing.assert_allclose(
                tau, truth[f"p_{stage}_arm{a}"] - truth[f"p_{stage}_arm0"], atol=1e-12
            )
        # each arm's realised rate matches its mean true probability
        for a in range(len(ARM_PROBS)):
            arm = t == a
            p = truth[f"p_{stage}_arm{a}"].to_numpy()
            se = np.sqrt(y[stage][arm].var() / arm.sum() + 1e-12)
            assert abs(y[stage][arm].mean() - p[arm].mean()) < 4 * se


def test_effects_heterogeneous_and_chain_matters(sim):
    truth = sim.truth.to_pandas()
    for a in range(1, len(ARM_PROBS)):
        tau = truth[f"tau_conversion_arm{a}"]
        assert 0.05 < (tau < 0).mean() < 0.95, a  # some units are hurt, some helped
        assert tau.std() > abs(tau.mean())

    def ratio(stage: str, a: int) -> float:
        return float((truth[f"p_{stage}_arm{a}"] / truth[f"p_{stage}_arm0"]).mean())

    # coupon moves conversion-given-click most, creative moves click-through, push exposure
    assert ratio("conversion_given_click", 1) - 1 > ratio("click_given_impression", 1) - 1 > 0
    assert truth["tau_click_arm2"].std() > 2 * truth["tau_click_arm1"].std()
    assert ratio("impression", 3) > 1.2 and ratio("impression", 1) == 1.0
    # the stages' effects disagree in sign for many units: modelling the chain helps
    v = truth["p_conversion_given_click_arm2"] - truth["p_conversion_given_click_arm0"]
    c = truth["p_click_given_impression_arm2"] - truth["p_click_given_impression_arm0"]
    assert ((v < 0) & (c > 0)).mean() > 0.1


def test_deterministic_and_round_trip(tmp_path):
    a, b = simulate_uplift(5_000, 7), simulate_uplift(5_000, 7)
    assert a.log.clicks.equals(b.log.clicks) and a.log.events.equals(b.log.events)
    assert a.truth.equals(b.truth)
    assert not simulate_uplift(5_000, 8).log.clicks.equals(a.log.clicks)
    a.write(tmp_path / "u")
    log = EventLog.open(tmp_path / "u")
    assert log.clicks.equals(a.log.clicks) and log.events.equals(a.log.events)
    assert log.clicks.schema.field("exposure").type == "int8"
    assert log.spec.meta["preset"] == "uplift"
    assert EventLog.read_truth(tmp_path / "u").equals(a.truth)


def test_bad_arguments():
    with pytest.raises(ValueError, match="uplift"):
        simulate_uplift(0, 0)
    with pytest.raises(ValueError, match="seed"):
        simulate_uplift(10, 1.5)
