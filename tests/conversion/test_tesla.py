"""TESLA: the delivered stream, eq. 1–4 weights, the DAR loss (eq. 7–9), the three structures."""

import math

import numpy as np
import pytest
import torch

from shopml.conversion.base import MASKED, Batch, get_method, masked_bce, methods
from shopml.conversion.ranking_loss import (
    dar_loss,
    delay_weights,
    multinomial_sampler,
    negative_distribution,
)
from shopml.conversion.stream import StreamSplit
from shopml.conversion.tesla import (
    PAY_SURVIVAL,
    REFUND_SURVIVAL,
    TRAJECTORIES,
    Tesla,
    importance_weights,
    tesla_delivery,
    trajectory_types,
)
from shopml.conversion.tesla_model import TeslaNet, TeslaNetConfig
from shopml.conversion.timeline import Timeline, Windows
from shopml.data.eventlog import NO_EVENT

N = NO_EVENT
M = MASKED
WINDOWS = Windows(
    conversion_attribution_s=100,
    refund_attribution_s=100,
    conversion_observation_s=10,
    refund_observation_s=10,
)
SPLIT = StreamSplit(start_ts=0, pretrain_end=1000, stream_start=1200, stream_end=2000, slice_s=100)


def tiny_timeline() -> Timeline:
    """All seven trajectory types (rows 0–6) plus clicks that must not (fully) be delivered.

    row  click  pay   refund  type                 notes
    0    1300   -     -       nConv
    1    1300   1305  -       iConv
    2    1300   1350  -       dConv
    3    1400   1402  1408    iConv-iRefund        refund before the CVR sample is delivered
    4    1400   1410  1450    iConv-dRefund        pay delay = W_v_obs: immediate (inclusive)
    5    1500   1530  1540    dConv-iRefund        refund delay = W_r_obs: immediate (inclusive)
    6    1500   1560  1590    dConv-dRefund
    7     500    505  -       iConv                pre-training click: never delivered
    8    1985   2050  -       dConv                pay after stream_end: only its CVR sample
    9    1100   1250  -       dConv                gap click: never delivered
    """
    click = [1300, 1300, 1300, 1400, 1400, 1500, 1500, 500, 1985, 1100]
    pay = [N, 1305, 1350, 1402, 1410, 1530, 1560, 505, 2050, 1250]
    refund = [N, N, N, 1408, 1450, 1540, 1590, N, N, N]
    return Timeline(np.array(click, np.int64), np.array(pay, np.int64), np.array(refund, np.int64))


def test_trajectory_types():
    types = [TRAJECTORIES[t] for t in trajectory_types(tiny_timeline(), WINDOWS)]
    assert types[:7] == list(TRAJECTORIES)
    assert types[7:] == ["iConv", "dConv", "dConv"]


def test_delivery_with_refund_observation_window():
    d = tesla_delivery(tiny_timeline(), WINDOWS, SPLIT, refund_window=True)
    assert d.records() == [
        (0, 1310, 0.0, M, "nConv/cvr"),
        (1, 1310, 1.0, M, "iConv/cvr"),
        (2, 1310, 0.0, M, "dConv/cvr"),
        (1, 1315, M, 0.0, "iConv/rfr"),  # pay 1305 + W_r_obs
        (2, 1350, 1.0, M, "dConv/pay"),  # delayed conversion duplicate at pay time
        (2, 1360, M, 0.0, "dConv/rfr"),  # pay 1350 + W_r_obs
        (3, 1408, M, 1.0, "iConv-iRefund/rfr"),  # refund inside ROW: at the refund time
        (3, 1410, 1.0, M, "iConv-iRefund/cvr"),
        (4, 1410, 1.0, M, "iConv-dRefund/cvr"),
        (4, 1420, M, 0.0, "iConv-dRefund/rfr"),
        (4, 1450, M, 1.0, "iConv-dRefund/refund"),  # delayed refund duplicate
        (5, 1510, 0.0, M, "dConv-iRefund/cvr"),
        (6, 1510, 0.0, M, "dConv-dRefund/cvr"),
        (5, 1530, 1.0, M, "dConv-iRefund/pay"),
        (5, 1540, M, 1.0, "dConv-iRefund/rfr"),  # r - p = W_r_obs: immediate
        (6, 1560, 1.0, M, "dConv-dRefund/pay"),
        (6, 1570, M, 0.0, "dConv-dRefund/rfr"),
        (6, 1590, M, 1.0, "dConv-dRefund/refund"),
        (8, 1995, 0.0, M, "dConv/cvr"),  # its pay (2050) falls after stream_end
    ]


def test_delivery_without_refund_observation_window():
    d = tesla_delivery(tiny_timeline(), WINDOWS, SPLIT, refund_window=False)
    assert d.records() == [
        (0, 1310, 0.0, M, "nConv/cvr"),
        (1, 1310, 1.0, 0.0, "iConv/cvr"),  # the conversion is an RFR negative
        (2, 1310, 0.0, M, "dConv/cvr"),
        (2, 1350, 1.0, 0.0, "dConv/pay"),
        (3, 1410, 1.0, 1.0, "iConv-iRefund/cvr"),  # refund (1408) already observed: no duplicate
        (4, 1410, 1.0, 0.0, "iConv-dRefund/cvr"),
        (4, 1450, M, 1.0, "iConv-dRefund/refund"),  # refunds enter at the refund time
        (5, 1510, 0.0, M, "dConv-iRefund/cvr"),
        (6, 1510, 0.0, M, "dConv-dRefund/cvr"),
        (5, 1530, 1.0, 0.0, "dConv-iRefund/pay"),
        (5, 1540, M, 1.0, "dConv-iRefund/refund"),
        (6, 1560, 1.0, 0.0, "dConv-dRefund/pay"),
        (6, 1590, M, 1.0, "dConv-dRefund/refund"),
        (8, 1995, 0.0, M, "dConv/cvr"),
    ]


def synthetic(n: int = 3000, seed: int = 0):
    """Random clicks over [0, 4000) s with exponential pay / refund delays; windows of 400/10 s."""
    rng = np.random.default_rng(seed)
    windows = Windows(
        conversion_attribution_s=400,
        refund_attribution_s=400,
        conversion_observation_s=10,
        refund_observation_s=10,
    )
    click = np.sort(rng.integers(0, 4000, n)).astype(np.int64)
    x = np.stack([rng.integers(0, c, n) for c in (5, 7, 3)], axis=1).astype(np.int64)
    pay_delay = rng.exponential(40 + 20 * x[:, 0], n).astype(np.int64)
    paid = (rng.random(n) < 0.2 + 0.1 * (x[:, 1] % 2)) & (pay_delay < 400)
    pay = np.where(paid, click + pay_delay, NO_EVENT)
    refund_delay = rng.exponential(30, n).astype(np.int64)
    refunded = paid & (rng.random(n) < 0.4) & (refund_delay < 400)
    refund = np.where(refunded, pay + refund_delay, NO_EVENT)
    tl = Timeline(click, pay, refund)
    split = StreamSplit(0, 2000, 2800, 4000, 300)
    return x, [5, 7, 3], tl, windows, split


def reference_delivery(tl: Timeline, w: Windows, split: StreamSplit, row_on: bool) -> list:
    """Per-click loop version of the delivery rules (for checking the vectorised one)."""
    wv, wr = w.conversion_observation_s, w.refund_observation_s
    out = []
    for i in range(len(tl)):
        c, p, r = int(tl.click_ts[i]), int(tl.pay_ts[i]), int(tl.refund_ts[i])
        if not split.stream_start <= c < split.stream_end:
            continue
        paid, refunded = p != NO_EVENT, r != NO_EVENT
        iconv = paid and p - c <= wv
        irefund = refunded and r - p <= wr
        last_pos = c + wv if iconv else p
        seen = refunded and r <= last_pos
        rfr_conv = M if row_on else (1.0 if seen else 0.0)
        samples = [(c + wv, 1.0 if iconv else 0.0, rfr_conv if iconv else M)]
        if paid and not iconv:
            samples.append((p, 1.0, rfr_conv))
        if row_on and paid:
            samples.append((r if irefund else p + wr, M, 1.0 if irefund else 0.0))
        if refunded and ((row_on and not irefund) or (not row_on and not seen)):
            samples.append((r, M, 1.0))
        out += [(i, t, a, b) for t, a, b in samples if split.stream_start <= t < split.stream_end]
    return sorted(out, key=lambda s: (s[1], s[0]))


@pytest.mark.parametrize("row_on", [True, False])
def test_vectorised_delivery_matches_per_click_rules(row_on):
    _, _, tl, windows, split = synthetic()
    d = tesla_delivery(tl, windows, split, refund_window=row_on)
    got = sorted(((r, t, c, f) for r, t, c, f, _ in d.records()), key=lambda s: (s[1], s[0]))
    want = reference_delivery(tl, windows, split, row_on)
    assert len(got) == len(want) > 1000
    # same multiset of samples (ties in (ts, row) are ordered by kind in Delivery)
    assert sorted(got) == sorted(want)


def test_importance_weights_eq_1_to_4():
    p = torch.tensor([0.2, 0.5, 0.0])
    s = torch.tensor([0.5, 0.0, 0.7])
    w_pos, w_neg = importance_weights(p, s)
    assert w_pos.tolist() == pytest.approx([1.1, 1.0, 1.0])
    # w- = (1-p)(1+p S) / (1-p+p S): 0.8*1.1/0.9; no delay => 1; p = 0 => 1
    assert w_neg.tolist() == pytest.approx([0.88 / 0.9, 1.0, 1.0])


def _batch(y_cvr, y_rfr, pay_delay=None, refund_delay=None, aux=None, n_fields=3):
    b = len(y_cvr)
    nan = torch.full((b,), float("nan"))
    return Batch(
        x=torch.zeros(b, n_fields, dtype=torch.long),
        y_cvr=torch.tensor(y_cvr, dtype=torch.float32),
        y_rfr=torch.tensor(y_rfr, dtype=torch.float32),
        kind=torch.zeros(b, dtype=torch.long),
        elapsed=torch.zeros(b),
        pay_delay=nan if pay_delay is None else torch.tensor(pay_delay, dtype=torch.float32),
        refund_delay=nan
        if refund_delay is None
        else torch.tensor(refund_delay, dtype=torch.float32),
        aux=aux or {},
        generator=torch.Generator().manual_seed(0),
    )


def test_debiased_bce_uses_stage_wise_weights():
    method = get_method("tesla", dar=False)
    batch = _batch(
        [1.0, 0.0, M, M],
        [M, M, 1.0, 0.0],
        aux={
            PAY_SURVIVAL: torch.tensor([0.5, 0.5, 0.3, 0.3]),
            REFUND_SURVIVAL: torch.tensor([0.1, 0.1, 0.4, 0.4]),
        },
    )
    cvr = torch.tensor([0.3, -0.7, 1.0, 1.0])
    rfr = torch.tensor([0.0, 0.0, -0.4, 0.9])
    loss = method.loss(None, {"cvr_logit": cvr, "rfr_logit": rfr}, batch)

    def bce(logit, y):
        p = 1 / (1 + math.exp(-logit))
        return -(y * math.log(p) + (1 - y) * math.log(1 - p)), p

    l0, p0 = bce(0.3, 1)
    l1, p1 = bce(-0.7, 0)
    l2, p2 = bce(-0.4, 1)
    l3, p3 = bce(0.9, 0)
    want = (
        (1 + p0 * 0.5) * l0
        + (1 - p1) * (1 + p1 * 0.5) / (1 - p1 + p1 * 0.5) * l1
        + (1 + p2 * 0.4) * l2
        + (1 - p3) * (1 + p3 * 0.4) / (1 - p3 + p3 * 0.4) * l3
    )
    assert loss.item() == pytest.approx(want, rel=1e-5)
    # DS off (ROW off): refund samples unweighted; CVR stage still weighted
    plain = get_method("tesla", dar=False, refund_window=False)
    loss2 = plain.loss(None, {"cvr_logit": cvr, "rfr_logit": rfr}, batch)
    want2 = (1 + p0 * 0.5) * l0 + (1 - p1) * (1 + p1 * 0.5) / (1 - p1 + p1 * 0.5) * l1 + l2 + l3
    assert loss2.item() == pytest.approx(want2, rel=1e-5)
    off = get_method("tesla", dar=False, refund_window=False, debias_cvr=False)
    want3 = masked_bce(cvr, batch.y_cvr) + masked_bce(rfr, batch.y_rfr)
    assert off.loss(None, {"cvr_logit": cvr, "rfr_logit": rfr}, batch).item() == pytest.approx(
        want3.item()
    )


def sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_delay_weights_eq_7():
    # m = 2, unbiased std = 2 -> s = 2
    w = delay_weights(torch.tensor([0.0, 2.0, 4.0]))
    assert w.tolist() == pytest.approx([1 + sig(1), 1.5, 1 + sig(-1)])
    w = delay_weights(torch.tensor([0.0, 2.0, 4.0]), w_min=0.2, alpha=3.0)
    assert w.tolist() == pytest.approx([0.2 + 3 * sig(1), 0.2 + 1.5, 0.2 + 3 * sig(-1)])
    # small dispersion: s is clamped to 1
    w = delay_weights(torch.tensor([1.0, 1.2, 1.4]))
    assert w.tolist() == pytest.approx([1 + sig(0.2), 1.5, 1 + sig(-0.2)], rel=1e-6)
    # one positive: std undefined -> s = 1, weight of the median
    assert delay_weights(torch.tensor([7.0])).tolist() == pytest.approx([1.5])


def test_dar_loss_eq_9_with_fixed_negatives():
    #          pos   neg   neg   pos   masked  pos
    logits = torch.tensor([2.0, 0.5, -1.0, 1.0, 3.0, 0.0], requires_grad=True)
    labels = torch.tensor([1.0, 0.0, 0.0, 1.0, M, 1.0])
    delays = torch.tensor([0.0, float("nan"), float("nan"), 4.0, 9.0, 2.0])  # seconds
    chosen = torch.tensor([[0, 1], [1, 1], [0, 0]])  # K = 2 negatives per positive
    seen = {}

    def fixed(pi, n_pos, k):
        seen["pi"], seen["shape"] = pi, (n_pos, k)
        return chosen

    loss = dar_loss(logits, labels, delays, k=2, delay_unit_s=1.0, sampler=fixed)
    assert seen["shape"] == (3, 2)
    p_neg = torch.sigmoid(torch.tensor([0.5, -1.0]))
    assert seen["pi"].tolist() == pytest.approx(((1 - p_neg) / (1 - p_neg).sum()).tolist())
    ls = math.log
    # positives in batch order: o = 2 (h 0), 1 (h 4), 0 (h 2); negatives: 0.5, -1
    l_a = -0.5 * (ls(sig(2 - 0.5)) + ls(sig(2 + 1)))
    l_b = -0.5 * (ls(sig(1 + 1)) + ls(sig(1 + 1)))
    l_c = -0.5 * (ls(sig(0 - 0.5)) + ls(sig(0 - 0.5)))
    w = [1 + sig(1), 1 + sig(-1), 1.5]  # m = 2, s = 2
    want = w[0] * l_a + w[1] * l_b + w[2] * l_c
    assert loss.item() == pytest.approx(want, rel=1e-6)
    loss.backward()
    assert logits.grad[4].item() == 0.0  # masked sample takes no part
    mean = dar_loss(logits, labels, delays, k=2, delay_unit_s=1.0, sampler=fixed, reduction="mean")
    assert mean.item() == pytest.approx(want / sum(w), rel=1e-6)
    flat = dar_loss(
        logits, labels, delays, k=2, delay_unit_s=1.0, sampler=fixed, positive_weighting=False
    )
    assert flat.item() == pytest.approx(l_a + l_b + l_c, rel=1e-6)
    # hours (the official unit): delays / 3600 are all < 1 h, so s = 1
    hours = dar_loss(logits, labels, delays * 3600, k=2, sampler=fixed)
    assert hours.item() == pytest.approx(want, rel=1e-6)


def test_negative_sampling_variants_and_reproducibility():
    p = torch.tensor([0.0, 1.0, 0.25])
    assert negative_distribution(p, "low_uncertainty").tolist() == pytest.approx(
        [1 / 1.75, 0.0, 0.75 / 1.75]
    )
    assert negative_distribution(p, "high_uncertainty").tolist() == pytest.approx([0.0, 0.8, 0.2])
    assert negative_distribution(p, "random").tolist() == pytest.approx([1 / 3] * 3)
    ln = multinomial_sampler(torch.Generator().manual_seed(3))(
        negative_distribution(p, "low_uncertainty"), 40, 5
    )
    assert ln.shape == (40, 5) and not (ln == 1).any()  # never the p = 1 negative
    hn = multinomial_sampler(torch.Generator().manual_seed(3))(
        negative_distribution(p, "high_uncertainty"), 40, 5
    )
    assert not (hn == 0).any()
    again = multinomial_sampler(torch.Generator().manual_seed(3))(
        negative_distribution(p, "low_uncertainty"), 40, 5
    )
    assert torch.equal(ln, again)
    with pytest.raises(ValueError):
        negative_distribution(p, "hard")
    # no positives or no negatives: zero loss with a graph
    logits = torch.zeros(3, requires_grad=True)
    zero = dar_loss(logits, torch.tensor([0.0, 0.0, M]), torch.zeros(3))
    assert zero.item() == 0.0 and zero.requires_grad


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_total_loss_eq_11(reduction):
    batch = _batch(
        [1.0, 0.0, 0.0, 1.0, M, M, M],
        [M, M, M, M, 1.0, 0.0, 0.0],
        pay_delay=[3600.0, float("nan"), float("nan"), 7200.0, 60.0, 60.0, 60.0],
        refund_delay=[float("nan")] * 4 + [1800.0, float("nan"), float("nan")],
        aux={PAY_SURVIVAL: torch.full((7,), 0.3), REFUND_SURVIVAL: torch.full((7,), 0.2)},
    )
    out = {
        "cvr_logit": torch.tensor([0.5, -1.0, 0.2, 1.5, 0.0, 0.0, 0.0]),
        "rfr_logit": torch.tensor([0.0, 0.0, 0.0, 0.0, 0.4, -0.3, 0.8]),
    }
    opts = {"dar_reduction": reduction, "dar_weight_rfr": 0.1}
    full = get_method("tesla", **opts)
    batch.generator = torch.Generator().manual_seed(7)
    total = full.loss(None, out, batch)
    base = get_method("tesla", dar=False).loss(None, out, batch)
    gen = torch.Generator().manual_seed(7)  # same draws, same order: CVR then RFR
    l_v = dar_loss(
        out["cvr_logit"], batch.y_cvr, batch.pay_delay, k=50, reduction=reduction, generator=gen
    )
    l_r = dar_loss(
        out["rfr_logit"], batch.y_rfr, batch.refund_delay, k=5, reduction=reduction, generator=gen
    )
    scale = 7.0 if reduction == "mean" else 1.0  # the trainer divides loss() by the batch size
    assert total.item() == pytest.approx((base + scale * (l_v + 0.1 * l_r)).item(), rel=1e-6)


def _shared_params(structure: str) -> tuple[set, set, set]:
    torch.manual_seed(0)
    net = TeslaNet(
        [5, 7, 3], TeslaNetConfig(structure=structure, n_shared_experts=1, n_task_experts=2)
    )
    x = torch.tensor([[0, 1, 2], [4, 6, 0], [2, 3, 1], [1, 0, 2]])

    def touched(key: str) -> set:
        net.zero_grad(set_to_none=True)
        net(x)[key].sum().backward()
        return {
            n for n, p in net.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0
        }

    return touched("cvr_logit"), touched("rfr_logit"), {n for n, _ in net.named_parameters()}


def test_structures_share_the_right_parameters():
    cvr, rfr, names = _shared_params("shared")
    assert sum(n.endswith("table.weight") for n in names) == 1
    assert not any("gate" in n for n in names)
    assert {n.split(".")[0] for n in cvr & rfr} == {"emb", "shared"}
    assert {n.split(".")[0] for n in cvr ^ rfr} == {"tower_v", "tower_r"}

    cvr, rfr, names = _shared_params("separate")
    assert cvr & rfr == set()
    assert sum(n.endswith("table.weight") for n in names) == 2
    assert not any(n.startswith("shared") for n in names)

    cvr, rfr, names = _shared_params("hybrid")
    assert sum(n.endswith("table.weight") for n in names) == 2
    # both private embeddings feed the shared experts (Enc_s); experts, gates, towers stay private
    assert {n.split(".")[0] for n in cvr & rfr} == {"shared", "emb_v", "emb_r"}
    assert any(n.startswith("experts_v") for n in cvr - rfr)
    assert any(n.startswith("gate_r") for n in rfr - cvr)


def test_registered_variants_and_options():
    registry = methods()
    for name in ("tesla", "tesla_hybrid", "tesla_shared", "tesla_separate"):
        assert name in registry
    assert get_method("tesla").opts.dar and get_method("tesla").opts.structure == "hybrid"
    assert not get_method("tesla_hybrid").opts.dar
    assert get_method("tesla_shared").opts.structure == "shared"
    assert get_method("tesla_separate").opts.structure == "separate"
    m = get_method("tesla", structure="shared", dar=False)
    assert m.opts.structure == "shared" and not m.opts.dar
    assert get_method("tesla", refund_window=False).opts.debias is False
    with pytest.raises(ValueError):
        get_method("tesla", refund_window=False, debias=True)
    with pytest.raises(ValueError):
        get_method("tesla", no_such_option=1)


def test_prepare_forward_backward_smoke():
    x, cards, tl, windows, split = synthetic()
    method = get_method("tesla")
    aux = method.prepare(x, tl, windows, split)
    assert set(aux) == {PAY_SURVIVAL, REFUND_SURVIVAL}
    stream = split.stream_rows(tl.click_ts)
    for arr in aux.values():
        assert arr.shape == (len(tl),) and np.all((arr >= 0) & (arr <= 1))
        assert arr[stream].std() > 0  # a fitted, feature-dependent delay model
    d = method.deliver(tl, windows, split)
    idx = np.arange(min(512, len(d)))
    rows, ts = d.row[idx], d.ts[idx]

    def observed(event, start):
        seen = (event != NO_EVENT) & (event <= ts)
        return torch.tensor(np.where(seen, event - start, np.nan), dtype=torch.float32)

    batch = Batch(
        x=torch.from_numpy(x[rows]),
        y_cvr=torch.from_numpy(d.y_cvr[idx]),
        y_rfr=torch.from_numpy(d.y_rfr[idx]),
        kind=torch.from_numpy(d.kind[idx].astype(np.int64)),
        elapsed=torch.from_numpy((ts - tl.click_ts[rows]).astype(np.float32)),
        pay_delay=observed(tl.pay_ts[rows], tl.click_ts[rows]),
        refund_delay=observed(tl.refund_ts[rows], tl.pay_ts[rows]),
        aux={k: torch.from_numpy(v[rows]) for k, v in aux.items()},
        generator=torch.Generator().manual_seed(0),
    )
    assert (batch.y_cvr == 1).any() and (batch.y_rfr == 1).any() and (batch.y_rfr == 0).any()
    for structure in ("hybrid", "shared", "separate"):
        m = get_method("tesla", structure=structure)
        model = m.build_model(cards)
        out = model(batch.x)
        loss = m.loss(model, out, batch)
        assert torch.isfinite(loss)
        loss.backward()
        assert all(p.grad is not None for p in model.parameters())
        p_cvr, p_net = m.predict(out)
        assert torch.all(p_net <= p_cvr)
    # the same generator state gives the same loss (seeded negative sampling)
    model = method.build_model(cards)
    model.eval()
    losses = []
    for _ in range(2):
        batch.generator = torch.Generator().manual_seed(5)
        losses.append(method.loss(model, model(batch.x), batch).item())
    assert losses[0] == losses[1]


def test_tiny_stream_run():
    trainer = pytest.importorskip("shopml.conversion.trainer")
    x, cards, tl, windows, split = synthetic(n=2000)
    data = trainer.StreamData(x, cards, tl, split, windows)
    from shopml.conversion.base import ModelConfig

    config = trainer.RunConfig(
        windows=windows, model=ModelConfig(batch_size=256, pretrain_epochs=1), seed=0
    )
    result = trainer.run_stream(get_method("tesla"), data, config, progress=False)
    assert result.train_samples > 0
    assert np.isfinite(result.metrics["netcvr_auc_pooled"])
    assert isinstance(get_method("tesla"), Tesla)
