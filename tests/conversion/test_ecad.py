"""ECAD (Zhao et al., CIKM 2023): deliveries of both protocols, losses by hand, ECVR relation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from shopml.conversion.base import _METHODS, Batch, ModelConfig
from shopml.conversion.ecad import ECAD, ECADNet, ECADStream
from shopml.conversion.stream import MASKED, StreamSplit
from shopml.conversion.timeline import Timeline, Windows
from shopml.data.eventlog import NO_EVENT

M = MASKED
N = NO_EVENT
# W_v = W_r = 300 s, W_v_obs = 30 s; horizons: ecad (100, 300, 600), ecad_stream (30, 100, 300, 600)
WINDOWS = Windows(
    conversion_attribution_s=300,
    refund_attribution_s=300,
    conversion_observation_s=30,
    refund_observation_s=30,
)
SPLIT = StreamSplit(start_ts=0, pretrain_end=1000, stream_start=1600, stream_end=3000, slice_s=50)
TIMELINE = Timeline(
    # 0 pre-training click, 1 immediate pay, 2 delayed pay (150 s) + refund at click+280,
    # 3 immediate pay + refund at click+50, 4 no pay, 5 gap click (immediate pay),
    # 6 click just before the end of the stream
    click_ts=np.array([500, 1600, 1620, 1650, 1700, 1200, 2950], dtype=np.int64),
    pay_ts=np.array([510, 1610, 1770, 1660, N, 1210, N], dtype=np.int64),
    refund_ts=np.array([N, N, 1900, 1700, N, N, N], dtype=np.int64),
)


def sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def make_batch(y_cvr, y_rfr, kind, pay_delay=None, refund_delay=None) -> Batch:
    n = len(kind)
    nan = [float("nan")] * n
    return Batch(
        x=torch.zeros((n, 2), dtype=torch.long),
        y_cvr=torch.tensor(y_cvr, dtype=torch.float32),
        y_rfr=torch.tensor(y_rfr, dtype=torch.float32),
        kind=torch.tensor(kind, dtype=torch.long),
        elapsed=torch.zeros(n),
        pay_delay=torch.tensor(pay_delay or nan, dtype=torch.float32),
        refund_delay=torch.tensor(refund_delay or nan, dtype=torch.float32),
    )


def test_both_protocols_registered():
    assert _METHODS["ecad"] is ECAD
    assert _METHODS["ecad_stream"] is ECADStream
    assert ECAD.online and ECADStream.online


def test_daily_delivery_matures_each_horizon_at_the_next_boundary():
    method = ECAD(short_windows_s=(100,), batch_s=200)
    d = method.deliver(TIMELINE, WINDOWS, SPLIT)
    assert d.kinds == ("h100s", "h300s", "h600s")
    assert d.records() == [
        # boundary 1800: 100-s labels of clicks 1600..1700 (known at 1700..1800)
        (1, 1800, 1.0, 0.0, "h100s"),
        (2, 1800, 0.0, 0.0, "h100s"),  # pays at +150: not within 100 s
        (3, 1800, 1.0, 1.0, "h100s"),  # paid and refunded within 100 s
        (4, 1800, 0.0, 0.0, "h100s"),
        (5, 1800, M, 0.0, "h600s"),  # gap click: complete CVRFR label known at 1200 + 600
        # boundary 2000: W_v labels (complete CVR) and the 300-s CVRFR labels
        (1, 2000, 1.0, 0.0, "h300s"),
        (2, 2000, 1.0, 1.0, "h300s"),  # refund at +280
        (3, 2000, 1.0, 1.0, "h300s"),
        (4, 2000, 0.0, 0.0, "h300s"),
        # W_v + W_r: complete CVRFR label only (the CVR label came at W_v)
        (1, 2200, M, 0.0, "h600s"),  # known exactly at the boundary
        (2, 2400, M, 1.0, "h600s"),
        (3, 2400, M, 1.0, "h600s"),
        (4, 2400, M, 0.0, "h600s"),
    ]  # row 0 (pre-training) never; row 5's shorter labels were known in the gap;
    # row 6's labels become known after stream_end


def test_stream_delivery_at_obs_window_then_at_each_longer_horizon():
    method = ECADStream(short_windows_s=(100,))
    d = method.deliver(TIMELINE, WINDOWS, SPLIT)
    assert d.kinds == ("h30s", "h100s", "h300s", "h600s")
    assert d.records() == [
        (1, 1630, 1.0, 0.0, "h30s"),  # at click + W_v_obs: labels observed then
        (2, 1650, 0.0, 0.0, "h30s"),
        (3, 1680, 1.0, 0.0, "h30s"),  # refund at +50: not within 30 s
        (1, 1700, 1.0, 0.0, "h100s"),
        (2, 1720, 0.0, 0.0, "h100s"),
        (4, 1730, 0.0, 0.0, "h30s"),
        (3, 1750, 1.0, 1.0, "h100s"),  # click 3's refund re-delivered at click + 100
        (4, 1800, 0.0, 0.0, "h100s"),
        (5, 1800, M, 0.0, "h600s"),  # gap click
        (1, 1900, 1.0, 0.0, "h300s"),
        (2, 1920, 1.0, 1.0, "h300s"),  # click 2's delayed pay (and refund) at click + W_v
        (3, 1950, 1.0, 1.0, "h300s"),
        (4, 2000, 0.0, 0.0, "h300s"),
        (1, 2200, M, 0.0, "h600s"),  # complete CVRFR labels at click + W_v + W_r
        (2, 2220, M, 1.0, "h600s"),
        (3, 2250, M, 1.0, "h600s"),
        (4, 2300, M, 0.0, "h600s"),
        (6, 2980, 0.0, 0.0, "h30s"),
    ]


def test_stream_delivery_with_positives_at_event_time():
    method = ECADStream(short_windows_s=(100,), redeliver_at_event=True)
    d = method.deliver(TIMELINE, WINDOWS, SPLIT)
    assert d.records() == [
        # click 1 at +30 s: its observation-window labels and the pay already seen
        (1, 1630, 1.0, 0.0, "h30s"),
        (1, 1630, 1.0, M, "h100s"),
        (1, 1630, 1.0, M, "h300s"),
        (2, 1650, 0.0, 0.0, "h30s"),
        (3, 1680, 1.0, 0.0, "h30s"),  # refund at +50: not within 30 s
        (3, 1680, 1.0, M, "h100s"),
        (3, 1680, 1.0, M, "h300s"),
        (1, 1700, M, 0.0, "h100s"),  # negative of CVRFR@100 s at click + 100
        (3, 1700, M, 1.0, "h100s"),  # refund of click 3 re-delivered when it happens
        (3, 1700, M, 1.0, "h300s"),
        (3, 1700, M, 1.0, "h600s"),
        (2, 1720, 0.0, 0.0, "h100s"),
        (4, 1730, 0.0, 0.0, "h30s"),
        (2, 1770, 1.0, M, "h300s"),  # delayed pay re-delivered when it happens
        (4, 1800, 0.0, 0.0, "h100s"),
        (5, 1800, M, 0.0, "h600s"),
        (1, 1900, M, 0.0, "h300s"),
        (2, 1900, M, 1.0, "h300s"),  # refund of click 2
        (2, 1900, M, 1.0, "h600s"),
        (4, 2000, 0.0, 0.0, "h300s"),  # negative of the main CVR at click + W_v
        (1, 2200, M, 0.0, "h600s"),
        (4, 2300, M, 0.0, "h600s"),
        (6, 2980, 0.0, 0.0, "h30s"),
    ]


def test_each_click_horizon_label_is_delivered_once():
    methods = (
        ECAD(short_windows_s=(100,), batch_s=200),
        ECADStream(short_windows_s=(100,)),
        ECADStream(short_windows_s=(100,), redeliver_at_event=True),
    )
    for method in methods:
        split = StreamSplit(0, 1000, 1600, 10_000, 50)  # long enough for every label
        d = method.deliver(TIMELINE, WINDOWS, split)
        n_horizons = len(method.horizons(WINDOWS))
        # rows 1, 2, 3, 4, 6 every label; gap row 5 only its W_v + W_r label
        assert np.sum(d.y_cvr != M) == 5 * method.n_cvr
        assert np.sum(d.y_rfr != M) == 5 * n_horizons + 1
        first = 30 if method.stream_timing else 100  # W_v_obs, shortest daily horizon
        assert np.all(d.ts >= TIMELINE.click_ts[d.row] + first)
        assert np.all(d.ts >= split.stream_start)


def test_horizons_are_validated():
    with pytest.raises(ValueError, match="increase strictly"):
        ECAD(short_windows_s=(400,)).horizons(WINDOWS)  # beyond W_v
    with pytest.raises(ValueError, match="increase strictly"):
        ECADStream(short_windows_s=(20,)).horizons(WINDOWS)  # below W_v_obs
    no_obs = WINDOWS.model_copy(update={"conversion_observation_s": 0})
    with pytest.raises(ValueError, match="observation window"):
        ECADStream(short_windows_s=(100,)).horizons(no_obs)
    assert ECAD().horizons(Windows()).tolist() == [86_400, 3 * 86_400, 6 * 86_400]
    assert ECADStream().horizons(Windows()).tolist() == [900, 86_400, 3 * 86_400, 6 * 86_400]


def test_stream_loss_matches_eq8_by_hand():
    method = ECAD(short_windows_s=(100,), aux_weight=0.5)  # 2 CVR heads, 3 CVRFR heads
    cvr = [[0.5, -1.0], [2.0, 0.3], [-0.2, 1.1]]
    rfr = [[-0.7, 0.1, 0.4], [0.0, 1.5, -2.0], [0.9, -0.3, 0.8]]
    out = {"cvr_win": torch.tensor(cvr), "rfr_win": torch.tensor(rfr)}
    batch = make_batch(y_cvr=[1.0, 0.0, M], y_rfr=[0.0, M, 1.0], kind=[0, 1, 2])
    expected = (
        # row 0, horizon 0 (auxiliary, λ = 0.5): y^h = 1, z^h = 0, CVRFR^h = CVR^h · RFR^h
        0.5 * -math.log(sig(0.5))
        + 0.5 * -math.log(1.0 - sig(0.5) * sig(-0.7))
        # row 1, horizon W_v (main CVR, λ = 1): y = 0, CVRFR label not delivered
        - math.log(1.0 - sig(0.3))
        # row 2, horizon W_v + W_r (main CVRFR): z = 1, CVR factor is the main CVR head
        - math.log(sig(1.1) * sig(0.8))
    )
    got = method.loss(None, out, batch)
    assert got.item() == pytest.approx(expected, rel=1e-5)
    direct = ECAD(short_windows_s=(100,), aux_weight=0.5, esmm=False)
    expected_direct = (
        0.5 * -math.log(sig(0.5))
        + 0.5 * -math.log(1.0 - sig(-0.7))
        - math.log(1.0 - sig(0.3))
        - math.log(sig(0.8))
    )
    assert direct.loss(None, out, batch).item() == pytest.approx(expected_direct, rel=1e-5)


def test_pretrain_loss_uses_every_horizon_from_complete_labels():
    method = ECAD(short_windows_s=(100,), aux_weight=0.5)
    method.prepare(np.zeros((3, 2)), TIMELINE, WINDOWS, SPLIT)  # records W_v = W_r = 300
    cvr = [[0.2, 1.0], [-0.4, 0.6], [0.3, -1.2]]
    rfr = [[0.1, -0.5, 0.7], [-1.0, 0.2, -0.3], [0.5, 0.0, -0.8]]
    out = {"cvr_win": torch.tensor(cvr), "rfr_win": torch.tensor(rfr)}
    out["cvr_logit"], out["rfr_logit"] = out["cvr_win"][:, -1], out["rfr_win"][:, -1]
    # trainer's pre-training batch: a paid at +50 and refunded 100 s later (click+150),
    # b paid at +200 and kept, c unpaid; y_rfr is refund-given-pay (MASKED if unpaid)
    batch = make_batch(
        y_cvr=[1.0, 1.0, 0.0],
        y_rfr=[1.0, 0.0, M],
        kind=[0, 0, 0],
        pay_delay=[50.0, 200.0, float("nan")],
        refund_delay=[100.0, float("nan"), float("nan")],
    )

    def bce(p: float, y: int) -> float:
        return -math.log(p) if y else -math.log(1.0 - p)

    expected = 0.0
    for i, (y100, z100, y300, z300, z600) in enumerate(
        [(1, 0, 1, 1, 1), (0, 0, 1, 0, 0), (0, 0, 0, 0, 0)]
    ):
        c100, c300 = sig(cvr[i][0]), sig(cvr[i][1])
        expected += 0.5 * bce(c100, y100) + 0.5 * bce(c100 * sig(rfr[i][0]), z100)  # h = 100
        expected += bce(c300, y300) + 0.5 * bce(c300 * sig(rfr[i][1]), z300)  # h = W_v
        expected += bce(c300 * sig(rfr[i][2]), z600)  # h = W_v + W_r (main CVRFR)
    got = method.pretrain_loss(None, out, batch)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_predict_ecvr_is_cvr_minus_cvrfr():
    c = torch.tensor([-3.0, 0.0, 1.5, 4.0])
    r = torch.tensor([2.0, -1.0, 0.3, -4.0])
    out = {"cvr_logit": c, "rfr_logit": r}
    p_cvr, p_net = ECAD().predict(out)
    p_cvrfr = torch.sigmoid(c) * torch.sigmoid(r)
    assert torch.allclose(p_cvr, torch.sigmoid(c))
    assert torch.allclose(p_net, p_cvr - p_cvrfr)
    assert torch.allclose(p_net, p_cvr * (1 - torch.sigmoid(r)))  # = CVR · (1 − RFR)
    assert bool((p_net <= p_cvr).all())
    # direct CVRFR head: ECVR = CVR − CVRFR, clamped where CVRFR > CVR
    p_cvr_d, p_net_d = ECAD(esmm=False).predict(out)
    assert torch.allclose(p_cvr_d, p_cvr)
    raw = torch.sigmoid(c) - torch.sigmoid(r)
    assert torch.allclose(p_net_d, raw.clamp(1e-6, 1 - 1e-6))
    assert p_net_d[0].item() == pytest.approx(1e-6)


@pytest.mark.parametrize("cls", [ECAD, ECADStream])
def test_forward_backward_smoke(cls):
    torch.manual_seed(0)
    method = cls(ModelConfig(embed_dim=4, hidden=[8]), short_windows_s=(100,), batch_s=200)
    method.prepare(np.zeros((7, 2)), TIMELINE, WINDOWS, SPLIT)
    model = method.build_model([3, 5])
    assert isinstance(model, ECADNet)
    d = method.deliver(TIMELINE, WINDOWS, SPLIT)
    x = torch.randint(0, 3, (len(TIMELINE), 2))
    batch = make_batch(d.y_cvr.tolist(), d.y_rfr.tolist(), d.kind.tolist())
    batch.x = x[torch.from_numpy(d.row)]
    out = model(batch.x)
    assert out["cvr_win"].shape == (len(d), method.n_cvr)
    assert out["rfr_win"].shape == (len(d), method.n_cvrfr)
    loss = method.loss(model, out, batch)
    loss.backward()
    assert torch.isfinite(loss)
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.cvr.net[0].weight.grad.abs().sum() > 0
    assert model.rfr.net[0].weight.grad.abs().sum() > 0
    model.zero_grad()
    pre = make_batch(
        [1.0, 1.0, 0.0],
        [1.0, 0.0, M],
        [0, 0, 0],
        [50.0, 200.0, float("nan")],
        [100.0, float("nan"), float("nan")],
    )
    pre.x = x[:3]
    ploss = method.pretrain_loss(model, model(pre.x), pre)
    ploss.backward()
    assert torch.isfinite(ploss) and ploss.item() > 0
    p_cvr, p_net = method.predict(model(x))
    assert bool(((p_net > 0) & (p_net <= p_cvr)).all())


@pytest.mark.parametrize("name", ["ecad", "ecad_stream"])
def test_runs_through_the_stream_trainer(name):
    from shopml.conversion.stream import StreamConfig
    from shopml.conversion.trainer import RunConfig, StreamData, run_stream

    rng = np.random.default_rng(0)
    n = 3000
    click = np.sort(rng.integers(0, 5000, n)).astype(np.int64)
    feats = rng.integers(0, 4, (n, 2))
    p = 0.2 + 0.3 * (feats[:, 0] == 1)
    paid = rng.random(n) < p
    pay = np.where(paid, click + rng.integers(1, 300, n), N)
    refunded = paid & (rng.random(n) < 0.4)
    refund = np.where(refunded, pay + rng.integers(1, 300, n), N)
    tl = Timeline(click, pay, refund)
    split = StreamSplit.make(click, WINDOWS, StreamConfig(pretrain_days=0.02, slice_s=100))
    data = StreamData(feats, [4, 4], tl, split, WINDOWS)
    config = RunConfig(
        windows=WINDOWS,
        stream=StreamConfig(pretrain_days=0.02, slice_s=100),
        model=ModelConfig(embed_dim=4, hidden=[8], batch_size=64, pretrain_epochs=1),
    )
    method = _METHODS[name](config.model, short_windows_s=(100,), batch_s=500)
    res = run_stream(method, data, config, progress=False)
    assert res is not None and res.train_samples > 0
    assert np.isfinite(res.metrics["netcvr_nll"]) and np.isfinite(res.metrics["cvr_auc"])
    assert np.all((res.p_net > 0) & (res.p_net <= res.p_cvr))
