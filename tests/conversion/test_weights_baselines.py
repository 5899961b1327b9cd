"""Each baseline's loss on a hand-made batch against the paper's equations worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from shopml.conversion._delivery import pay_late_survival
from shopml.conversion.base import Batch, get_method
from shopml.conversion.stream import MASKED, StreamSplit
from shopml.conversion.timeline import Timeline, Windows
from shopml.data.eventlog import NO_EVENT

M = MASKED


def sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def nll1(v: float) -> float:
    """-log sigmoid(v): BCE of a positive."""
    return -math.log(sig(v))


def nll0(v: float) -> float:
    """-log(1 - sigmoid(v)): BCE of a negative."""
    return -math.log(1.0 - sig(v))


def make_batch(method, y_cvr, y_rfr, kinds, late=None, true_neg=None, delayed_pos=None) -> Batch:
    n = len(y_cvr)
    codes = [method_kinds(method).index(k) for k in kinds]
    aux = {} if late is None else {"p_pay_late": torch.tensor(late, dtype=torch.float32)}
    if true_neg is not None:
        aux["p_true_neg"] = torch.tensor(true_neg, dtype=torch.float32)
        aux["p_delayed_pos"] = torch.tensor(delayed_pos, dtype=torch.float32)
    return Batch(
        x=torch.zeros((n, 2), dtype=torch.long),
        y_cvr=torch.tensor(y_cvr, dtype=torch.float32),
        y_rfr=torch.tensor(y_rfr, dtype=torch.float32),
        kind=torch.tensor(codes, dtype=torch.long),
        elapsed=torch.zeros(n),
        pay_delay=torch.full((n,), float("nan")),
        refund_delay=torch.full((n,), float("nan")),
        aux=aux,
    )


def method_kinds(method) -> tuple[str, ...]:
    """Kind names of a method's delivery (from a one-click delivery)."""
    tl = Timeline(np.array([10]), np.array([11]), np.array([12]))
    split = StreamSplit(0, 0, 0, 1000, 100)
    windows = Windows(
        conversion_attribution_s=100,
        refund_attribution_s=100,
        conversion_observation_s=50,
        refund_observation_s=50,
    )
    return method.deliver(tl, windows, split).kinds


def out_of(cvr, rfr) -> dict[str, torch.Tensor]:
    return {
        "cvr_logit": torch.tensor(cvr, dtype=torch.float32, requires_grad=True),
        "rfr_logit": torch.tensor(rfr, dtype=torch.float32, requires_grad=True),
    }


# refund tower of every baseline (official re* trainers): plain BCE on the delivered y_rfr
# three samples: a positive with y_rfr = 0, a negative (y_rfr masked), a refund duplicate
CVR = [0.3, -0.5, 1.7]
RFR = [0.2, 0.9, -0.4]
REFUND_PLAIN = nll0(0.2) + nll1(-0.4)


def test_oracle_bdl_pretrained_plain_bce():
    for name in ("oracle", "bdl", "pretrained"):
        m = get_method(name)
        b = make_batch(
            get_method("fnc"), [1.0, 0.0, M], [0.0, M, 1.0], ["pos", "click_neg", "refund"]
        )
        got = m.loss(None, out_of(CVR, RFR), b).item()
        assert got == pytest.approx(nll1(0.3) + nll0(-0.5) + REFUND_PLAIN, rel=1e-5)


def test_fnw_weights():
    m = get_method("fnw")
    b = make_batch(m, [1.0, 0.0, M], [0.0, M, 1.0], ["pos", "click_neg", "refund"])
    p1, p2 = sig(0.3), sig(-0.5)
    w_pos = 1 + p1  # w+ = 1 + p̂
    w_neg = (1 - p2) * (1 + p2)  # w− = (1 − p̂)(1 + p̂)
    want = w_pos * nll1(0.3) + w_neg * nll0(-0.5) + REFUND_PLAIN
    assert m.loss(None, out_of(CVR, RFR), b).item() == pytest.approx(want, rel=1e-5)


def test_fnw_refund_debias_uses_fnw_weights_on_refund_tower():
    m = get_method("fnw", refund_debias=True)
    b = make_batch(m, [1.0, 0.0, M], [0.0, M, 1.0], ["pos", "click_neg", "refund"])
    p1, p2 = sig(0.3), sig(-0.5)
    r0, r2 = sig(0.2), sig(-0.4)
    cvr = (1 + p1) * nll1(0.3) + (1 - p2) * (1 + p2) * nll0(-0.5)
    rfr = (1 - r0) * (1 + r0) * nll0(0.2) + (1 + r2) * nll1(-0.4)
    assert m.loss(None, out_of(CVR, RFR), b).item() == pytest.approx(cvr + rfr, rel=1e-5)


def test_fnw_weights_are_detached():
    m = get_method("fnw")
    b = make_batch(m, [1.0, 0.0], [0.0, M], ["pos", "click_neg"])
    out = out_of([0.3, -0.5], [0.2, 0.9])
    m.loss(None, out, b).backward()
    p1, p2 = sig(0.3), sig(-0.5)
    # d/dl [w · BCE(l, y)] = w · (σ(l) − y) when w does not depend on l
    grad = out["cvr_logit"].grad.tolist()
    assert grad[0] == pytest.approx((1 + p1) * (p1 - 1), rel=1e-5)
    assert grad[1] == pytest.approx((1 - p2) * (1 + p2) * p2, rel=1e-5)


def test_fnc_plain_bce_and_calibrated_prediction():
    m = get_method("fnc")
    b = make_batch(m, [1.0, 0.0, M], [0.0, M, 1.0], ["pos", "click_neg", "refund"])
    assert m.loss(None, out_of(CVR, RFR), b).item() == pytest.approx(
        nll1(0.3) + nll0(-0.5) + REFUND_PLAIN, rel=1e-5
    )
    # b = 0.2 → p = b / (1 − b) = 0.25; refund tower uncalibrated: r = sigmoid(0) = 0.5
    # b = 0.6 → p = 1.5, clipped to 1
    out = {
        "cvr_logit": torch.tensor([math.log(0.2 / 0.8), math.log(0.6 / 0.4)]),
        "rfr_logit": torch.tensor([0.0, 0.0]),
    }
    p_cvr, p_net = m.predict(out)
    assert p_cvr.tolist() == pytest.approx([0.25, 1.0], rel=1e-5)
    assert p_net.tolist() == pytest.approx([0.125, 0.5], rel=1e-5)
    # refund_debias: the RFR tower is calibrated too, r = 0.5 / 0.5 = 1 → p_net = 0
    _, p_net = get_method("fnc", refund_debias=True).predict(out)
    assert p_net.tolist() == pytest.approx([0.0, 0.0], abs=1e-6)


def test_fnc_pretrain_loss_counts_positives_also_as_negatives():
    m = get_method("fnc")
    b = make_batch(m, [1.0, 0.0], [1.0, M], ["click_neg", "click_neg"])  # kind is ignored
    out = out_of([0.3, -0.5], [0.2, 0.9])
    # CVR: positive → BCE(1) + BCE(0); negative → BCE(0); RFR plain
    want = nll1(0.3) + nll0(0.3) + nll0(-0.5) + nll1(0.2)
    assert m.pretrain_loss(None, out, b).item() == pytest.approx(want, rel=1e-5)
    # minimiser of p·[−log b − log(1−b)] + (1−p)·[−log(1−b)] is b = p / (1 + p)
    p = 0.3
    grid = np.linspace(0.01, 0.99, 9801)
    risk = p * (-np.log(grid) - np.log(1 - grid)) + (1 - p) * -np.log(1 - grid)
    assert grid[np.argmin(risk)] == pytest.approx(p / (1 + p), abs=1e-3)


def test_esdfm_weights_eq17_eq18():
    m = get_method("esdfm", weights_from="model")
    b = make_batch(
        m, [1.0, 0.0, M], [0.0, M, 1.0], ["ip", "obs_neg", "refund"], late=[0.4, 0.25, 0.9]
    )
    p1, p2 = sig(0.3), sig(-0.5)
    w_pos = 1 + p1 * 0.4  # eq. 17: 1 + p · p(h > e | y=1)
    w_neg = (1 - p2) * (1 + p2 * 0.25) / (1 - p2 + p2 * 0.25)  # eq. 18
    want = w_pos * nll1(0.3) + w_neg * nll0(-0.5) + REFUND_PLAIN
    assert m.loss(None, out_of(CVR, RFR), b).item() == pytest.approx(want, rel=1e-5)


def test_esdfm_with_no_late_conversions_is_plain_bce():
    m = get_method("esdfm", weights_from="model")
    b = make_batch(m, [1.0, 0.0], [0.0, M], ["ip", "obs_neg"], late=[0.0, 0.0])
    out = out_of([0.3, -0.5], [0.2, 0.9])
    assert m.loss(None, out, b).item() == pytest.approx(
        nll1(0.3) + nll0(-0.5) + nll0(0.2), rel=1e-5
    )


def test_defer_weights():
    m = get_method("defer")
    b = make_batch(
        m,
        [1.0, 0.0, 1.0, 0.0, M],
        [0.0, M, 0.0, M, 1.0],
        ["ip", "obs_neg", "dp", "rn", "refund"],
        late=[0.4, 0.25, 0.5, 0.1, 0.9],
    )
    cvr = [0.3, -0.5, -1.0, 0.8, 1.7]
    rfr = [0.2, 0.9, 0.5, 0.0, -0.4]
    p = [sig(v) for v in cvr]
    # w+ = p / (p − p·S/2) = 1 / (1 − S/2);  w− = (1 − p) / (1 − p + p·S/2)
    w0 = p[0] / (p[0] - 0.5 * p[0] * 0.4)
    w1 = (1 - p[1]) / (1 - p[1] + 0.5 * p[1] * 0.25)
    w2 = 1 / (1 - 0.5 * 0.5)
    w3 = (1 - p[3]) / (1 - p[3] + 0.5 * p[3] * 0.1)
    want = (
        w0 * nll1(0.3)
        + w1 * nll0(-0.5)
        + w2 * nll1(-1.0)
        + w3 * nll0(0.8)
        + nll0(0.2)
        + nll0(0.5)
        + nll1(-0.4)
    )
    assert m.loss(None, out_of(cvr, rfr), b).item() == pytest.approx(want, rel=1e-5)


def test_defuse_four_sample_types():
    m = get_method("defuse", weights_from="model")
    b = make_batch(
        m,
        [1.0, 0.0, 1.0, M],
        [0.0, M, 0.0, 1.0],
        ["ip", "obs_neg", "dp", "refund"],
        late=[0.4, 0.25, 0.5, 0.9],
    )
    cvr = [0.3, -0.5, -1.0, 1.7]
    rfr = [0.2, 0.9, 0.5, -0.4]
    p0, p1 = sig(0.3), sig(-0.5)
    dp0 = p0 * 0.4
    dp1 = p1 * 0.25
    z1 = dp1 / (1 - p1 + dp1)  # p(FN | observed negative)
    ip = (1 + dp0) * nll1(0.3)  # w_IP = 1 + p_dp
    obs_neg = z1 * dp1 * nll1(-0.5) + (1 - z1) * (1 + dp1) * nll0(
        -0.5
    )  # w_FN = p_dp, w_RN = 1 + p_dp
    dp = 1.0 * nll1(-1.0)  # w_DP = 1
    want = ip + obs_neg + dp + nll0(0.2) + nll0(0.5) + nll1(-0.4)
    assert m.loss(None, out_of(cvr, rfr), b).item() == pytest.approx(want, rel=1e-5)


def test_defuse_is_unbiased_in_expectation():
    # stream mass per click: IP p_ip, observed negative 1 − p + p_dp, DP p_dp; the weighted loss,
    # normalised by 1 + p_dp, equals the ideal p·ℓ(1) + (1 − p)·ℓ(0) for any prediction f
    p, s, f = 0.3, 0.4, 0.17
    p_dp, p_ip = p * s, p * (1 - s)
    z = p_dp / (1 - p + p_dp)
    l1, l0 = -math.log(f), -math.log(1 - f)
    total = (
        p_ip * (1 + p_dp) * l1
        + (1 - p + p_dp) * (z * p_dp * l1 + (1 - z) * (1 + p_dp) * l0)
        + p_dp * l1
    )
    assert total / (1 + p_dp) == pytest.approx(p * l1 + (1 - p) * l0)


def test_ddfm_soft_labels():
    m = get_method("ddfm", weights_from="model")
    b = make_batch(
        m,
        [1.0, 0.0, 1.0, 0.0, M],
        [0.0, M, 0.0, M, 1.0],
        ["ip", "obs_neg", "dp", "rn", "refund"],
        late=[0.4, 0.25, 0.5, 0.1, 0.9],
    )
    cvr = [0.3, -0.5, -1.0, 0.8, 1.7]
    rfr = [0.2, 0.9, 0.5, 0.0, -0.4]
    p1, p3 = sig(-0.5), sig(0.8)
    z1 = (1 - p1) / (1 - p1 + p1 * 0.25)  # p(real negative | observed negative)
    z2 = 1 - p3 + p3 * 0.1
    want = (
        nll1(0.3)
        + z1 * nll0(-0.5)
        + (1 - z1) * nll1(-0.5)
        + nll1(-1.0)
        + z2 * nll0(0.8)
        + (1 - z2) * nll1(0.8)
        + nll0(0.2)
        + nll0(0.5)
        + nll1(-0.4)
    )
    assert m.loss(None, out_of(cvr, rfr), b).item() == pytest.approx(want, rel=1e-5)


def test_ddfm_duplicated_estimator_minimiser_is_p():
    # duplicated data: DP mass p·S with ℓ(1); RN mass 1 − p with z2·ℓ(0) + (1 − z2)·ℓ(1)
    p, s = 0.3, 0.4
    z2 = 1 - p + p * s
    grid = np.linspace(0.001, 0.999, 9981)
    l1, l0 = -np.log(grid), -np.log(1 - grid)
    risk = p * s * l1 + (1 - p) * (z2 * l0 + (1 - z2) * l1)
    assert grid[np.argmin(risk)] == pytest.approx(p, abs=1e-3)


@pytest.mark.parametrize("name", ["esdfm", "defer", "defuse", "ddfm"])
def test_delay_methods_prepare_pay_late(name):
    rng = np.random.default_rng(0)
    n = 400
    features = rng.integers(0, 3, size=(n, 2)).astype(np.int64)
    click = np.sort(rng.integers(0, 4000, n)).astype(np.int64)
    paid = rng.random(n) < 0.5
    pay = np.where(paid, click + rng.integers(0, 1000, n), NO_EVENT)
    tl = Timeline(click, pay, np.full(n, NO_EVENT))
    windows = Windows(
        conversion_attribution_s=1000,
        refund_attribution_s=1000,
        conversion_observation_s=100,
        refund_observation_s=100,
    )
    split = StreamSplit(0, 2000, 2000, 4000, 100)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    aux = get_method(name, delay_epochs=1).prepare(features, tl, windows, split)
    assert torch.equal(torch.get_rng_state(), before)  # the global RNG is left untouched
    late = aux["p_pay_late"]
    assert late.shape == (n,) and late.dtype == np.float32
    assert np.all((late >= 0) & (late <= 1 + 1e-6))


def test_pay_late_needs_pretraining_conversions():
    tl = Timeline(np.array([10, 20]), np.full(2, NO_EVENT), np.full(2, NO_EVENT))
    with pytest.raises(ValueError, match="no conversions"):
        pay_late_survival(
            np.zeros((2, 1), np.int64),
            tl,
            Windows(
                conversion_attribution_s=100,
                refund_attribution_s=100,
                conversion_observation_s=50,
                refund_observation_s=50,
            ),
            StreamSplit(0, 50, 50, 100, 10),
            {},
        )


@pytest.mark.parametrize("name", ["fnw", "esdfm", "defer", "defuse", "ddfm"])
def test_saturated_predictions_stay_finite(name):
    m = get_method(name, refund_debias=True)
    kinds = method_kinds(m)
    names = [k for k in ("pos", "click_neg", "ip", "obs_neg", "dp", "rn") if k in kinds]
    y = [1.0 if k in ("pos", "ip", "dp") else 0.0 for k in names]
    b = make_batch(
        m,
        y,
        [0.0 if v == 1 else M for v in y],
        names,
        late=[0.0] * len(y),
        true_neg=[1.0] * len(y),
        delayed_pos=[0.0] * len(y),
    )
    out = out_of([40.0] * len(y), [40.0] * len(y))
    loss = m.loss(None, out, b)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(out["cvr_logit"].grad).all()


# -- weights from the frozen true-negative / delayed-positive classifier (official code) ------
TN = [0.9, 0.7, 0.8, 0.95, 0.5]  # p(real negative | observed negative, x)
DP = [0.05, 0.2, 0.1, 0.02, 0.3]  # p(delayed positive | x)


def test_esdfm_classifier_weights():
    m = get_method("esdfm")
    b = make_batch(
        m, [1.0, 0.0, M], [0.0, M, 1.0], ["ip", "obs_neg", "refund"],
        late=[0.4, 0.25, 0.9], true_neg=TN[:3], delayed_pos=DP[:3],
    )  # fmt: skip
    # official ES-DFM: w+ = 1 + dp, w− = (1 + dp) · tn
    want = (1 + 0.05) * nll1(0.3) + (1 + 0.2) * 0.7 * nll0(-0.5) + REFUND_PLAIN
    assert m.loss(None, out_of(CVR, RFR), b).item() == pytest.approx(want, rel=1e-5)


def test_defuse_classifier_weights():
    m = get_method("defuse")
    b = make_batch(
        m, [1.0, 0.0, 1.0, M], [0.0, M, 0.0, 1.0], ["ip", "obs_neg", "dp", "refund"],
        late=[0.4, 0.25, 0.5, 0.9], true_neg=TN[:4], delayed_pos=DP[:4],
    )  # fmt: skip
    cvr = [0.3, -0.5, -1.0, 1.7]
    rfr = [0.2, 0.9, 0.5, -0.4]
    z = 1 - 0.7  # official: zi = 1 − tn
    want = (
        (1 + 0.05) * nll1(0.3)  # w_IP = 1 + dp
        + z * 0.2 * nll1(-0.5)  # w_FN = dp
        + (1 - z) * (1 + 0.2) * nll0(-0.5)  # w_RN = 1 + dp
        + nll1(-1.0)  # w_DP = 1
        + nll0(0.2) + nll0(0.5) + nll1(-0.4)
    )  # fmt: skip
    assert m.loss(None, out_of(cvr, rfr), b).item() == pytest.approx(want, rel=1e-5)


def test_ddfm_classifier_soft_labels():
    m = get_method("ddfm")
    b = make_batch(
        m,
        [1.0, 0.0, 1.0, 0.0, M],
        [0.0, M, 0.0, M, 1.0],
        ["ip", "obs_neg", "dp", "rn", "refund"],
        late=[0.4, 0.25, 0.5, 0.1, 0.9],
        true_neg=TN,
        delayed_pos=DP,
    )
    cvr = [0.3, -0.5, -1.0, 0.8, 1.7]
    rfr = [0.2, 0.9, 0.5, 0.0, -0.4]
    z1 = 0.7  # frozen p(tn | obs neg)
    z2 = 1 - sig(0.8) + 0.02  # 1 − p̂ (online, detached) + frozen dp
    want = (
        nll1(0.3)
        + z1 * nll0(-0.5) + (1 - z1) * nll1(-0.5)
        + nll1(-1.0)
        + z2 * nll0(0.8) + (1 - z2) * nll1(0.8)
        + nll0(0.2) + nll0(0.5) + nll1(-0.4)
    )  # fmt: skip
    assert m.loss(None, out_of(cvr, rfr), b).item() == pytest.approx(want, rel=1e-5)


def test_weights_from_is_validated():
    with pytest.raises(ValueError, match="esdfm option weights_from must be one of"):
        get_method("esdfm", weights_from="oracle")


def test_ddfm_real_negative_weight_is_never_negative():
    # frozen p(dp | x) = 0.3 above the online p̂ = sigmoid(-2) ≈ 0.12: 1 − z2 = p̂ − 0.3 < 0;
    # the official trainer takes |1 − z2|, so the loss stays bounded below
    m = get_method("ddfm")
    b = make_batch(m, [0.0], [M], ["rn"], late=[0.5], true_neg=[0.9], delayed_pos=[0.3])
    p = sig(-2.0)
    z2 = 1 - p + 0.3
    want = z2 * nll0(-2.0) + abs(1 - z2) * nll1(-2.0)
    assert m.loss(None, out_of([-2.0], [0.0]), b).item() == pytest.approx(want, rel=1e-5)


def test_every_method_names_an_option_it_does_not_read():
    from shopml.conversion.base import methods

    for name in methods():
        with pytest.raises(ValueError, match=rf"{name} has no option \['weights_form'\]"):
            get_method(name, weights_form="model")
    assert "weights_from" in get_method("esdfm").known_options()
    assert get_method("oracle").known_options() == set()


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("esdfm", {"weights_from": "modle"}, "weights_from must be one of 'classifier', 'model'"),
        ("defer", {"refund_debias": "yes"}, "refund_debias must be true or false"),
        ("fnc", {"refund_debias": 1}, "refund_debias must be true or false"),
        ("esdfm", {"delay_bins": 1}, "delay_bins must be a whole number >= 2"),
        ("esdfm", {"delay_epochs": 1.5}, "delay_epochs must be a whole number >= 1"),
        ("defuse", {"classifier_lr": 0}, "classifier_lr must be a number > 0"),
        ("esdfm", {"seed": True}, "seed must be a whole number >= 0"),
        ("bdl", {"period_s": -3600}, "period_s must be a whole number >= 1"),
    ],
)
def test_option_values_are_checked_when_the_method_is_built(name, options, message):
    with pytest.raises(ValueError, match=f"{name} option {message}"):
        get_method(name, **options)


def test_good_option_values_are_kept_as_given():
    method = get_method("esdfm", weights_from="model", delay_bins=8, classifier_lr=1e-3, seed=0)
    assert method.options == {"weights_from": "model", "delay_bins": 8, "classifier_lr": 1e-3, "seed": 0}
    assert get_method("bdl", period_s=3600).options == {"period_s": 3600}


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("tesla", {"structure": "triple"},
         "tesla option structure: input should be 'shared', 'separate' or 'hybrid', got 'triple'"),
        ("tesla", {"debias": True, "refund_window": False},
         r"tesla refund debiasing \(DS\) needs the refund observation window"),
        ("ecad", {"aux_weight": "abc"}, "ecad option aux_weight: input should be a valid number"),
    ],
)  # fmt: skip
def test_typed_option_values_are_named_like_the_others(name, options, message):
    with pytest.raises(ValueError, match=message):
        get_method(name, **options)
