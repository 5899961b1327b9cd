"""DNAMTA: an LSTM with time-decayed attention over the touchpoint sequence, plus user context.

Ning Li, Sai Kumar Arava, Chen Dong, Zhenyu Yan, Abhishek Pani, "Deep Neural Net with
Attention for Multi-channel Multi-touch Attribution", KDD 2018 workshop (AdKDD),
arXiv:1809.02230.

The model predicts whether a journey converts and reads channel credit off its attention:

* touchpoint t of a journey: channel embedding e_t (plus log(1 + Δt_t / day) as an input),
  encoded by an LSTM, h_t = LSTM(e_1..e_t);
* attention with time decay: u_t = tanh(W h_t + b), score_t = u_t·w − λ Δt_t with a learned
  decay rate λ ≥ 0 (softplus), a_t = softmax_t(score_t) over the journey's touches;
  the journey vector is c = Σ_t a_t h_t;
* user context (the user's categorical fields — demographics/behaviour as "control
  variables") is embedded and passed through a dense layer, z = ReLU(V x_u);
* P(convert) = σ(MLP([c, z])), trained with binary cross-entropy (Adam).

Attribution: a converted journey's conversion is split over its touches by their attention
weights a_t (they sum to 1), summed per channel; channel credit = the sum over converted
journeys.

Deviations, and why:

* Δt is measured to the journey's **last observed touch**, not to the conversion: the
  conversion time exists only for converted journeys, so using it as an input leaks the
  label (a converted journey's last touch has Δt > 0, a non-converted one's Δt = 0). The
  last touch is known at prediction time for every journey.
* Journeys longer than ``max_len`` touches keep their last ``max_len`` touches (64 by
  default; longer journeys are rare in the data we benchmark).
* The model is trained on a user split (80 % of users, seeded); AUC and log loss are
  measured on the other 20 % only. Attention credits are read on all converted journeys
  with that model (attribution describes the whole data set, as Markov and Shapley do).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from shopml.attribution.base import (
    Attribution,
    from_journey_credit,
    register_method,
    touch_credit_to_journeys,
)
from shopml.attribution.journeys import Journeys
from shopml.progress import progress_bar

DAY = 86_400.0


@dataclass
class DNAMTAConfig:
    """Hyper-parameters of DNAMTA (defaults used by the benchmark)."""

    embed_dim: int = 16
    hidden: int = 32
    attention_dim: int = 16
    context_dim: int = 4
    context_hidden: int = 16
    epochs: int = 4
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-5
    max_len: int = 64
    test_fraction: float = 0.2
    threads: int = 1

    def __post_init__(self) -> None:
        sizes = ("embed_dim", "hidden", "attention_dim", "context_dim", "context_hidden",
                 "epochs", "batch_size", "max_len", "threads")  # fmt: skip
        bad = [f"{name}={getattr(self, name)!r} (a whole number, at least 1)" for name in sizes
               if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), int)
               or getattr(self, name) < 1]  # fmt: skip
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            bad.append(f"lr={self.lr!r} (above 0)")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            bad.append(f"weight_decay={self.weight_decay!r} (0 or more)")
        if not (isinstance(self.test_fraction, float) and 0 < self.test_fraction < 1):
            bad.append(f"test_fraction={self.test_fraction!r} (between 0 and 1)")
        if bad:
            raise ValueError("dnamta: bad " + ", ".join(bad))

    @classmethod
    def from_options(cls, options: dict) -> DNAMTAConfig:
        """The configuration with ``options`` set; a ValueError names unknown or bad ones."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(f"dnamta has no option {unknown}; it takes {known}")
        return cls(**options)  # type: ignore[arg-type]


def _tensors(
    journeys: Journeys, max_len: int, codes: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Padded (n_journeys, L) arrays: channel codes (+1; 0 = pad), Δt to the last touch in
    days, and a mask; touches beyond ``max_len`` from the end are dropped. ``codes``: each
    touch's channel code in the model's channel list (default the journeys' own codes)."""
    t = journeys.touches
    codes = t["channel"].to_numpy() if codes is None else codes
    n = journeys.n_journeys
    length = journeys.table["n_touches"].to_numpy()
    kept = np.minimum(length, max_len)
    offset = np.maximum(length - max_len, 0)
    j = t["journey"].to_numpy()
    col = t["position"].to_numpy() - offset[j]
    keep = col >= 0
    width = int(kept.max())
    channel = np.zeros((n, width), np.int64)
    dt = np.zeros((n, width), np.float32)
    channel[j[keep], col[keep]] = codes[keep] + 1
    dt[j[keep], col[keep]] = t["to_last_s"].to_numpy()[keep] / DAY
    return {"channel": channel, "dt": dt, "length": kept.astype(np.int64)}


def context_vocab(journeys: Journeys) -> list[int]:
    """Embedding table size per context field: the declared vocabulary (simulator / spec) or
    1 + the largest code seen; negative codes are refused."""
    ctx = journeys.context
    if ctx is None:
        return []
    declared = journeys.meta.get("context_vocab") or {}
    sizes = []
    for name in ctx.columns:
        codes = ctx[name].to_numpy()
        if (codes < 0).any():
            raise ValueError(f"DNAMTA: context field {name!r} has negative codes")
        sizes.append(max(int(codes.max()) + 1, int(declared.get(name, 0))))
    return sizes


def _build_model(n_channels: int, context_vocab: list[int], cfg: DNAMTAConfig):
    import torch
    from torch import nn

    class DNAMTANet(nn.Module):
        """Channel embedding → LSTM → time-decayed attention; user context → dense; → logit."""

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(n_channels + 1, cfg.embed_dim, padding_idx=0)
            self.lstm = nn.LSTM(cfg.embed_dim + 1, cfg.hidden, batch_first=True)
            self.att_proj = nn.Linear(cfg.hidden, cfg.attention_dim)
            self.att_vec = nn.Linear(cfg.attention_dim, 1, bias=False)
            self.decay_raw = nn.Parameter(torch.tensor(-2.0))
            self.ctx_embed = nn.ModuleList(nn.Embedding(v, cfg.context_dim) for v in context_vocab)
            ctx_in = cfg.context_dim * len(context_vocab)
            self.ctx_dense = (
                nn.Sequential(nn.Linear(ctx_in, cfg.context_hidden), nn.ReLU()) if ctx_in else None
            )
            head_in = cfg.hidden + (cfg.context_hidden if ctx_in else 0)
            self.head = nn.Sequential(nn.Linear(head_in, 32), nn.ReLU(), nn.Linear(32, 1))

        def forward(self, channel, dt, context):
            mask = channel > 0
            x = torch.cat([self.embed(channel), torch.log1p(dt).unsqueeze(-1)], dim=-1)
            h, _ = self.lstm(x)
            score = self.att_vec(torch.tanh(self.att_proj(h))).squeeze(-1)
            score = score - nn.functional.softplus(self.decay_raw) * dt
            score = score.masked_fill(~mask, float("-inf"))
            att = torch.softmax(score, dim=1)
            pooled = (att.unsqueeze(-1) * h).sum(dim=1)
            parts = [pooled]
            if self.ctx_dense is not None:
                emb = [e(context[:, i]) for i, e in enumerate(self.ctx_embed)]
                parts.append(self.ctx_dense(torch.cat(emb, dim=-1)))
            return self.head(torch.cat(parts, dim=-1)).squeeze(-1), att

    return DNAMTANet()


def _batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Length-bucketed batches (similar lengths together, so padding is small), shuffled."""
    order = np.lexsort((rng.random(len(lengths)), lengths))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


class DNAMTA:
    """Fit on journeys, predict conversion probabilities, attribute conversions by attention."""

    def __init__(self, config: DNAMTAConfig | None = None, seed: int = 0) -> None:
        self.config = config or DNAMTAConfig()
        self.seed = seed
        self.model = None
        self.losses: list[float] = []
        #: set by ``fit``: the channels (in code order) and context fields the model was trained on
        self.channels: list[str] = []
        self.context_fields: list[str] = []
        self.context_sizes: list[int] = []

    def _channel_codes(self, journeys: Journeys) -> np.ndarray:
        """Each touch's channel as a code of the model's channels, matched by name."""
        codes = journeys.touches["channel"].to_numpy()
        if list(journeys.channels) == self.channels:
            return codes
        index = {name: i for i, name in enumerate(self.channels)}
        mapping = np.array([index.get(name, -1) for name in journeys.channels], dtype=np.int64)
        mapped = mapping[codes] if len(mapping) else codes
        unknown = sorted({journeys.channels[c] for c in np.unique(codes[mapped < 0])})
        if unknown:
            raise ValueError(
                f"DNAMTA: the journeys touch channel(s) {unknown} that the model was not trained "
                f"on (its channels: {self.channels})"
            )
        return mapped

    def _context(self, journeys: Journeys) -> np.ndarray:
        """The context codes of the model's fields, by name (checked against its vocabularies)."""
        n = journeys.n_journeys
        if not self.context_fields:
            return np.zeros((n, 0), np.int64)
        ctx = journeys.context
        missing = [f for f in self.context_fields if ctx is None or f not in ctx.columns]
        if missing:
            raise ValueError(
                f"DNAMTA: the model was trained with user context {self.context_fields}; these "
                f"journeys lack {missing} (give journeys.context those columns of codes)"
            )
        codes = ctx[self.context_fields].to_numpy(dtype=np.int64)
        for k, (field, size) in enumerate(zip(self.context_fields, self.context_sizes, strict=True)):
            bad = (codes[:, k] < 0) | (codes[:, k] >= size)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"DNAMTA: context field {field!r} of journey {row} is {int(codes[row, k])}; "
                    f"the model knows codes 0..{size - 1}"
                )
        return codes

    def _inputs(self, journeys: Journeys) -> dict[str, np.ndarray]:
        arrays = _tensors(journeys, self.config.max_len, self._channel_codes(journeys))
        arrays["context"] = self._context(journeys)
        return arrays

    def fit(
        self, journeys: Journeys, rows: np.ndarray | None = None, progress: bool = False
    ) -> DNAMTA:
        """Train on the journeys ``rows`` (default all)."""
        import torch

        cfg = self.config
        torch.manual_seed(self.seed)
        torch.set_num_threads(cfg.threads)
        rng = np.random.default_rng(self.seed)
        rows = np.arange(journeys.n_journeys) if rows is None else np.asarray(rows)
        if len(rows) == 0:
            raise ValueError("DNAMTA.fit: no journeys to train on")
        self.channels = list(journeys.channels)
        self.context_sizes = context_vocab(journeys)
        self.context_fields = [] if journeys.context is None else list(journeys.context.columns)
        data = self._inputs(journeys)
        y = journeys.converted.astype(np.float32)
        self.model = _build_model(len(journeys.channels), self.context_sizes, cfg)
        base_rate = float(np.clip(y[rows].mean(), 1e-4, 1 - 1e-4))
        with torch.no_grad():  # start at the base rate, not at p = 0.5
            self.model.head[-1].bias.fill_(float(np.log(base_rate / (1 - base_rate))))
        opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        self.model.train()
        batches_per_epoch = (len(rows) + cfg.batch_size - 1) // cfg.batch_size
        bar = progress_bar(
            total=cfg.epochs * batches_per_epoch, desc="DNAMTA training", unit="batches",
            leave=False, disable=not progress,
        )  # fmt: skip
        try:
            for _ in range(cfg.epochs):
                total = 0.0
                for batch in _batches(data["length"][rows], cfg.batch_size, rng):
                    idx = rows[batch]
                    width = int(data["length"][idx].max())
                    logit, _ = self.model(
                        torch.from_numpy(data["channel"][idx, :width]),
                        torch.from_numpy(data["dt"][idx, :width]),
                        torch.from_numpy(data["context"][idx]),
                    )
                    loss = loss_fn(logit, torch.from_numpy(y[idx]))
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total += loss.item() * len(idx)
                    bar.update(1)
                self.losses.append(total / len(rows))
        finally:
            bar.close()
        return self

    def _forward(self, journeys: Journeys, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities of ``rows`` and their attention weights (padded to the global width)."""
        import torch

        if self.model is None:
            raise RuntimeError("DNAMTA: call fit() before predicting")
        data = self._inputs(journeys)
        width = data["channel"].shape[1]
        probs = np.zeros(len(rows), np.float64)
        att = np.zeros((len(rows), width), np.float64)
        self.model.eval()
        with torch.no_grad():
            order = np.argsort(data["length"][rows], kind="stable")
            for lo in range(0, len(rows), 4096):
                sel = order[lo : lo + 4096]
                idx = rows[sel]
                w = int(data["length"][idx].max())
                logit, a = self.model(
                    torch.from_numpy(data["channel"][idx, :w]),
                    torch.from_numpy(data["dt"][idx, :w]),
                    torch.from_numpy(data["context"][idx]),
                )
                probs[sel] = torch.sigmoid(logit).double().numpy()
                att[sel, :w] = a.double().numpy()
        return probs, att

    def predict_proba(self, journeys: Journeys, rows: np.ndarray | None = None) -> np.ndarray:
        """P(convert) per journey (of ``rows``, default all)."""
        rows = np.arange(journeys.n_journeys) if rows is None else np.asarray(rows)
        return self._forward(journeys, rows)[0]

    def touch_attention(self, journeys: Journeys) -> np.ndarray:
        """Attention weight of every touch (aligned with ``journeys.touches``; touches cut by
        ``max_len`` get 0)."""
        _probs, att = self._forward(journeys, np.arange(journeys.n_journeys))
        t = journeys.touches
        j = t["journey"].to_numpy()
        offset = np.maximum(journeys.table["n_touches"].to_numpy() - self.config.max_len, 0)
        col = t["position"].to_numpy() - offset[j]
        weight = np.zeros(len(t))
        keep = col >= 0
        weight[keep] = att[j[keep], col[keep]]
        return weight


def user_split(
    journeys: Journeys, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train / test journey rows with every user's journeys on one side (seeded)."""
    users = journeys.table["user_id"].to_numpy()
    unique = np.unique(users)
    rng = np.random.default_rng([seed, 0xD7A])
    test_users = rng.choice(unique, size=max(1, round(test_fraction * len(unique))), replace=False)
    is_test = np.isin(users, test_users)
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


@register_method("dnamta", check_options=DNAMTAConfig.from_options)
def dnamta(
    journeys: Journeys, seed: int = 0, progress: bool = False, **options: object
) -> Attribution:
    """Train DNAMTA on a user split; held-out AUC / log loss; credit from attention weights."""
    from shopml.metrics import auc, nll

    cfg = DNAMTAConfig.from_options(options)
    train, test = user_split(journeys, cfg.test_fraction, seed)
    if len(train) == 0:
        users = len(np.unique(journeys.table["user_id"].to_numpy()))
        raise ValueError(
            f"dnamta: the journeys hold {users} user(s); DNAMTA trains on some users and holds "
            f"{cfg.test_fraction:.0%} of them out (at least one), so it needs at least two users"
        )
    model = DNAMTA(cfg, seed=seed).fit(journeys, train, progress=progress)
    y = journeys.converted
    p_test = model.predict_proba(journeys, test)
    extras: dict = {"config": asdict(cfg), "train_loss": model.losses}
    if 0 < y[test].sum() < len(test):
        extras["auc"] = auc(y[test], p_test)
        extras["log_loss"] = nll(y[test], p_test)
    extras["n_train"], extras["n_test"] = len(train), len(test)
    credit = touch_credit_to_journeys(journeys, model.touch_attention(journeys))
    result = from_journey_credit("dnamta", journeys, credit, extras)
    result.extras["model"] = model
    return result
