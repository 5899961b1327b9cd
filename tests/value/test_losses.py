"""Router, routing, calibrator and READER losses against hand-computed values."""

import math

import numpy as np
import pytest
import torch

from shopml.conversion.base import Batch, ModelConfig
from shopml.value.base import (
    dual_pretrain_loss,
    log_l1,
    mixed_log1p,
    router_probability,
    routing_weight,
)
from shopml.value.gmv import GmvView
from shopml.value.reader import (
    Calibrator,
    calibrator_loss,
    calibrator_samples,
    reader_loss,
    reader_targets,
)

LN2 = math.log(2.0)


def t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def test_log_l1_and_branch_mixing():
    # u = log1p(3) against y = 1: |log 4 - log 2| = log 2
    assert log_l1(t([math.log(4.0)]), t([1.0])).item() == pytest.approx(LN2, abs=1e-6)
    # (1 - 0.25) * 3 + 0.25 * 7 = 4 -> log1p(4) = log 5
    mixed = mixed_log1p(t([math.log(4.0)]), t([math.log(8.0)]), t([0.25]))
    assert mixed.item() == pytest.approx(math.log(5.0), abs=1e-6)


def test_router_probability_and_routing():
    # temperature 0.5: sigmoid(0.5 / 0.5) = sigmoid(1)
    assert router_probability(t([0.5])).item() == pytest.approx(1 / (1 + math.exp(-1.0)), abs=1e-6)
    p = t([0.05, 0.1, 0.5, 0.89, 0.95])
    assert routing_weight(p, "soft").tolist() == pytest.approx([0.0, 0.0, 0.5, 0.89, 1.0])
    assert routing_weight(p, "hard").tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="routing"):
        routing_weight(p, "gumbel")


def test_router_and_branch_pretraining_loss():
    # sample 0: single purchase, y = 1, single branch u = log 4 -> log 2, router logit 0 -> log 2
    # sample 1: repurchase, y = 3, multi branch u = log 4 -> 0, router logit log 3 -> -log(3/4)
    out = {
        "single": t([math.log(4.0), 9.0]),
        "multi": t([9.0, math.log(4.0)]),
        "router_logit": t([0.0, math.log(3.0)]),
    }
    batch = Batch(
        x=torch.zeros(2, 1, dtype=torch.long),
        y_cvr=t([1.0, 1.0]),
        y_rfr=t([-1.0, -1.0]),
        kind=torch.zeros(2, dtype=torch.long),
        elapsed=t([0.0, 0.0]),
        pay_delay=t([0.0, 0.0]),
        refund_delay=t([0.0, 0.0]),
        aux={"final_gmv": t([1.0, 3.0]), "repurchase": t([0.0, 1.0])},
    )
    expected = LN2 + 0.0 + LN2 - math.log(0.75)
    assert dual_pretrain_loss(out, batch).item() == pytest.approx(expected, abs=1e-5)


def test_calibrator_samples_and_loss():
    # click 0: buys 10 at 0.1 W and 5 at 0.5 W (final 15); click 1 buys once (not a repurchase)
    w = 1000
    view = GmvView.from_purchases(
        np.array([0, 0]), np.array([0, 0, 1]), np.array([100, 500, 50]), np.array([10.0, 5.0, 4.0]), w
    )
    rows, tt, k, target = calibrator_samples(view, np.array([0, 1]))
    assert rows.tolist() == [0, 0]
    assert tt.tolist() == pytest.approx([0.1, 0.5])
    assert k.tolist() == [1.0, 2.0]
    assert target.tolist() == pytest.approx([math.log(16 / 11), 0.0])
    cal = Calibrator([3], ModelConfig(embed_dim=2, hidden=[4]))
    with torch.no_grad():
        cal.out.weight.zero_()
        cal.out.bias.fill_(0.0)  # rho = softplus(0) = log 2 for every input
    x = torch.zeros(2, 1, dtype=torch.long)
    loss = calibrator_loss(cal, x, t(tt.tolist()), t(k.tolist()), t(target.tolist()))
    expected = (abs(LN2 - math.log(16 / 11)) + LN2) / 2
    assert loss.item() == pytest.approx(expected, abs=1e-5)


def test_reader_calibrated_target_and_loss():
    # y = 10, rho = log 2: expm1(log 11 + log 2) = 21; w = 0.5 -> 15.5
    assert reader_targets(t([10.0]), t([LN2]), t([0.5])).item() == pytest.approx(15.5, abs=1e-4)
    assert reader_targets(t([10.0]), t([LN2]), t([0.0])).item() == pytest.approx(10.0)
    # sample A (stream): w = 0, y_s = 3, label 1 -> log 2
    # sample B (window end): w = 1, y_m = 7, final 7, previous label 3 -> main 0, now 0, prev log 2
    loss = reader_loss(
        u_single=t([math.log(4.0), 0.0]),
        u_multi=t([0.0, math.log(8.0)]),
        w=t([0.0, 1.0]),
        label=t([1.0, 7.0]),
        is_end=torch.tensor([False, True]),
        final=t([1.0, 7.0]),
        previous=t([1.0, 3.0]),
        boost_weight=0.1,
        ga_weight=0.5,
    )
    assert loss.item() == pytest.approx(LN2 / 2 + 0.1 * (0.0 - 0.5 * LN2), abs=1e-5)
    no_aux = reader_loss(
        t([math.log(4.0), 0.0]), t([0.0, math.log(8.0)]), t([0.0, 1.0]), t([1.0, 7.0]),
        torch.tensor([False, True]), t([1.0, 7.0]), t([1.0, 3.0]), 0.0, 0.5,
    )  # fmt: skip
    assert no_aux.item() == pytest.approx(LN2 / 2, abs=1e-5)


def test_reader_routing_overrides_in_the_stream_loss():
    from shopml.value.base import get_gmv_method
    from shopml.value.protocol import KINDS

    reader = get_gmv_method("reader", calibration=False)
    reader.view = GmvView.from_purchases(np.zeros(3), np.zeros(0), np.zeros(0), np.zeros(0), 1000)
    # A: 1st purchase, router p = 0.5 -> w = 0.5: 0.5 * 3 + 0.5 * 7 = 5 = y -> 0
    # B: 2nd purchase -> w = 1: y_m = 7 vs 3 -> log 2
    # C: window end of a single-purchase click -> w = 0: y_s = 3 vs 1 -> log 2 (aux: now = prev)
    out = {
        "single": t([math.log(4.0)] * 3),
        "multi": t([math.log(8.0)] * 3),
        "router_logit": t([0.0, 0.0, 0.0]),
    }
    purchase, end = KINDS.index("purchase"), KINDS.index("window_end")
    batch = Batch(
        x=torch.zeros(3, 1, dtype=torch.long),
        y_cvr=t([5.0, 3.0, 1.0]),
        y_rfr=t([1.0, 2.0, 1.0]),
        kind=torch.tensor([purchase, purchase, end]),
        elapsed=t([10.0, 20.0, 1000.0]),
        pay_delay=t([0.0] * 3),
        refund_delay=t([0.0] * 3),
        aux={"last_elapsed": t([0.0, 0.0, 0.5])},
    )
    expected = 3 * ((0.0 + LN2 + LN2) / 3 + 0.1 * (LN2 - 0.5 * LN2))
    assert reader.loss(None, out, batch).item() == pytest.approx(expected, abs=1e-5)


def test_calibrator_holdout_split_is_by_click_time_over_repurchase_clicks():
    from shopml.value.reader import _split_holdout

    # clicks at t = 40, 10, 30, 20, 50; click 4 buys once (not a repurchase), the others twice
    rows = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4])
    view = GmvView.from_purchases(
        np.array([40, 10, 30, 20, 50]), rows, np.array(rows * 0 + 60), np.ones(9), 1000
    )
    fit, held = _split_holdout(view, np.arange(5), 0.25)
    assert fit.tolist() == [1, 3, 2] and held.tolist() == [0]  # latest 1 of 4 repurchase clicks


def test_calibrator_fit_learns_the_remaining_growth_by_purchase_count():
    from shopml.conversion.stream import StreamConfig, StreamSplit
    from shopml.value.protocol import GmvWindows
    from shopml.value.reader import fit_calibrator

    # 200 repurchase clicks, each 1 then 1 again: remaining log1p growth log(3/2) after the
    # first purchase and 0 after the second; a constant rho cannot fit both
    day = 86_400
    n = 200
    click = np.arange(n) * 60
    rows = np.repeat(np.arange(n), 2)
    pay = click[rows] + np.tile([3600, 7200], n)
    view = GmvView.from_purchases(click, rows, pay, np.ones(2 * n), 7 * day)
    windows = GmvWindows()
    split = StreamSplit.make(np.append(click, 80 * day), windows, StreamConfig(pretrain_days=50))
    config = ModelConfig(embed_dim=2, hidden=[8], lr=0.03, batch_size=32)
    cal = fit_calibrator(np.zeros((n, 1), np.int64), view, split, config, max_epochs=30, patience=5)
    with torch.no_grad():
        rho = cal(torch.zeros(2, 1, dtype=torch.long), t([1 / 168, 2 / 168]), t([1.0, 2.0]))
    assert rho[0].item() == pytest.approx(math.log(1.5), abs=0.08)
    assert rho[1].item() == pytest.approx(0.0, abs=0.08)


def test_oracle_dual_routes_test_clicks_by_the_true_flag_or_the_router():
    from shopml.value.base import get_gmv_method

    # click 0 buys once, click 1 twice, click 2 three times
    view = GmvView.from_purchases(
        np.zeros(3), np.array([0, 1, 1, 2, 2, 2]), np.arange(6), np.ones(6), 1000
    )
    out = {"single": t([math.log(4.0)] * 3), "multi": t([math.log(8.0)] * 3), "router_logit": t([0.0] * 3)}
    oracle = get_gmv_method("oracle_dual")
    oracle.view = view
    first, second = (v.numpy() for v in oracle.predict(out))
    gmv, router = oracle.finalize(np.array([2, 0, 1]), first, second)
    assert gmv.tolist() == pytest.approx([7.0, 3.0, 7.0]) and router is None
    routed = get_gmv_method("oracle_dual", test_routing="router")
    routed.view = view
    first, second = (v.numpy() for v in routed.predict(out))
    gmv, router = routed.finalize(np.array([2, 0, 1]), first, second)
    # router p = sigmoid(0) = 0.5 -> 0.5 * 3 + 0.5 * 7 = 5
    assert gmv.tolist() == pytest.approx([5.0] * 3) and router.tolist() == pytest.approx([0.5] * 3)
    with pytest.raises(ValueError, match="test_routing"):
        get_gmv_method("oracle_dual", test_routing="coin").predict(out)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("reader", {"calibration": "off"}, "calibration must be true or false"),
        ("reader", {"calib_patience": 0}, "calib_patience must be a whole number >= 1"),
        ("reader", {"boost_weight": -0.1}, "boost_weight must be a number >= 0"),
        ("reader", {"routing": "medium"}, "routing must be one of 'soft', 'hard'"),
        ("oracle_dual", {"test_routing": "model"}, "test_routing must be one of 'truth', 'router'"),
    ],
)
def test_gmv_option_values_are_checked_when_the_method_is_built(name, options, message):
    from shopml.value.base import get_gmv_method

    with pytest.raises(ValueError, match=f"{name} option {message}"):
        get_gmv_method(name, **options)
