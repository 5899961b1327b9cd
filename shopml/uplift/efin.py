"""EFIN: explicit feature interaction-aware uplift network.

Liu, Tang, Gao, Lyu & He, "Explicit Feature Interaction-aware Uplift Network for Online
Marketing", KDD 2023 (arXiv:2306.00315). Its four modules, as implemented here:

1. **Feature encoding** — every input column j is encoded as e_j = x_j v_j (x standardised,
   v_j ∈ R^d learned, so a one-hot category column is a category embedding); every treatment
   arm a has its own learned treatment-feature vector e_{t,a} = W_t onehot(a) (the paper
   encodes treatment features with a linear map; one vector per arm gives the multi-treatment
   case).
2. **Self-interaction** — scaled dot-product self-attention over the (L2-normalised across
   fields) feature embeddings, Ê = softmax(Q Kᵀ / √d) V, flattened into the control tower,
   which outputs the natural-response logit μ(x) (no treatment feature enters it).
3. **Treatment-aware interaction** — additive attention of the treatment feature over the
   feature embeddings, s_{a,j} = wᵀ ReLU(σ(W_1 e_{t,a}) + σ(W_2 e_j)), α_{a,·} = softmax_j(s),
   h_a = Σ_j α_{a,j} e_j, and the uplift tower maps [h_a ; e_{t,a} ; h_a ⊙ e_{t,a}] to the
   treatment effect logit τ_a(x). (The paper's tower reads h_a only; with several arms the
   arms could then differ only through their attention weights, which are the same for every
   arm (below), so the treatment feature and its product with h_a are appended.)
   Outcome logits: control μ(x), arm a μ(x) + τ_a(x); predicted uplift σ(μ + τ_a) − σ(μ)
   (for real outcomes the raw difference τ_a).
   **The attention weights do not depend on the arm** in this form, which is the official
   code's (``interaction_attn``, read, not copied): the ReLU's input is a sum of two
   sigmoids, always positive, so the ReLU is the identity and s_{a,j} = wᵀσ(W_1 e_{t,a}) +
   wᵀσ(W_2 e_j); the treatment's term is the same for every field j and cancels in the
   softmax (tested: equal weights for every arm, no gradient reaches W_1). With one treatment
   that changes nothing; with several, every arm pools the same h. This is why a tower that
   reads h_a alone gives every arm the same effect. ``interaction_attention="additive"`` drops
   the two sigmoids, s_{a,j} = wᵀ ReLU(W_1 e_{t,a} + W_2 e_j + b), so that the ReLU can cut and
   each arm weighs the fields its own way (the module's stated aim: the features sensitive
   to a particular treatment); the default stays the official form (docs/marketing.md has
   both measured).
   **One uplift tower per arm** (``arm_towers=True``, the default): the paper's and the
   official code's uplift tower serves one treatment; with K arms each arm gets its own tower,
   τ head and treatment head, fed by the shared treatment-aware attention. With one tower
   shared by all arms (``arm_towers=False``, our earlier version) the arms' fitted effects
   collapsed onto one common shape: on the ``uplift`` preset (100,000 units, seed 1) their
   mean correlation between arms was 0.94 while the true effects' is -0.02 (per-arm towers:
   0.76: a nearly constant τ_a still gives every arm σ(μ + τ_a) − σ(μ) ≈ τ_a p(1 − p), the
   shape of the baseline rate p). Per-arm towers lowered EFIN's PEHE there from
   0.0147 to 0.0143 (10 seeds, lower on 8) and at 1,000,000 units from 0.0123 - the score of
   predicting no effect - to 0.0113 (3/3 seeds), and raised its Hillstrom three-arm Qini from
   0.030 to 0.034 (``benchmarks/efin_diagnosis.py``; docs/marketing.md). With one arm both
   settings build the same network from the same random draws. In the paper's binary
   setting (each arm of that preset against control alone) EFIN's PEHE is below that of an
   S-learner fitted on the same two groups on 22 of 30 arm-seed pairs; one binary EFIN per
   arm scores 0.0131 there against 0.0133 as shipped, not enough to change the design. On one
   such world EFIN's PEHE moves with the initialisation as much as between worlds (0.0113 to
   0.0153 over eight ``random_state`` values on seed 13), as its logit-scale effects stay
   close to a constant (sd at most 0.23 per arm, the truth's 0.35-0.39;
   ``benchmarks/efin_diagnosis.py --inits``).
4. **Intervention constraint** — a treatment head on the uplift tower's last layer predicts
   the assignment from h_a and is trained against the *inverted* assignment (1 − 1[T = a], on
   the rows of arm a and control), so the treatment-aware representation cannot encode which
   group a user came from; this balances the ITE representation of treated and control users
   (it matters for non-random assignment; on randomised tests it acts as a regulariser).
   Weight ``constraint_weight`` (default 1). The inverted-label form is the official code's
   (github.com/dgliu/KDD23_EFIN, ``calculate_loss``: the treatment head against 1 - T; read,
   not copied), as in a public re-implementation (github.com/Zhuang-Zhuang-Liu/DeepUplift); we
   could not check it against the paper's equation, whose text was not available to us.

Loss: factual outcome loss with the control logit detached in treated rows (μ is learned from
control rows, τ_a explains the difference — the official code's ``c_logit.detach()``),
plus the constraint. Deviations: a single attention head and small towers (CPU-sized); the
paper's feature-interaction attention is the same additive form. Training: with
``weight_average=True`` (shared by the neural estimators, off by default) the model kept is a
moving average of the weights. On the ``uplift`` preset at 1,000,000 units it lets EFIN train on
where early stopping on the last weights' jittery validation loss had ended its training early,
and takes about 0.001 off its PEHE; from ``random_state`` 0 that put EFIN below the S-learner on
every world, from 1 above it on every world, level over the nine fits (docs/marketing.md).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from shopml.uplift.base import UpliftInputError, register_method
from shopml.uplift.nets import NeuralUpliftEstimator, embed_features, mlp

#: forms of the treatment-aware attention score (see ``EFINModule.interaction_weights``)
ATTENTION_FORMS = ("official", "additive")


@register_method("efin")
class EFIN(NeuralUpliftEstimator):
    """EFIN (KDD 2023): self-interaction control tower + treatment-aware interaction uplift tower."""

    def __init__(
        self,
        embed_dim: int = 8,
        hidden: int = 64,
        use_self_interaction: bool = True,
        constraint_weight: float = 1.0,
        detach_control: bool = True,
        arm_towers: bool = True,
        interaction_attention: str = "official",
        epochs: int = 20,
        batch_size: int = 512,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-5,
        validation_fraction: float = 0.1,
        patience: int = 2,
        weight_average: bool = False,
        random_state: int | np.random.RandomState | None = 0,
        verbose: bool = False,
    ):
        self.embed_dim = embed_dim
        self.hidden = hidden
        self.use_self_interaction = use_self_interaction
        self.constraint_weight = constraint_weight
        self.detach_control = detach_control
        self.arm_towers = arm_towers
        self.interaction_attention = interaction_attention
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.weight_average = weight_average
        self.random_state = random_state
        self.verbose = verbose

    def _build(self, n_features: int, n_arms: int, n_stages: int) -> nn.Module:
        if self.interaction_attention not in ATTENTION_FORMS:
            raise UpliftInputError(
                f"interaction_attention={self.interaction_attention!r}; use one of "
                f"{', '.join(ATTENTION_FORMS)}"
            )
        return EFINModule(
            n_features, n_arms, n_stages, int(self.embed_dim), int(self.hidden),
            bool(self.use_self_interaction), bool(self.arm_towers),
            str(self.interaction_attention),
        )  # fmt: skip

    def _loss(self, module: Any, xb: Any, yb: Any, ab: Any) -> Any:
        mu, tau, t_logit = module.parts(xb)
        base = mu.detach() if self.detach_control else mu
        arm_rows = (ab - 1).clamp(min=0)
        tau_own = tau[torch.arange(len(ab)), arm_rows]  # (b, S)
        treated = (ab > 0).unsqueeze(1)
        prediction = torch.where(treated, base + tau_own, mu)
        loss = self._pointwise(prediction, yb).mean()
        if self.constraint_weight > 0:
            loss = loss + self.constraint_weight * intervention_constraint(t_logit, ab)
        return loss


def intervention_constraint(t_logit: torch.Tensor, arm: torch.Tensor) -> torch.Tensor:
    """Mean BCE of the treatment heads (b, K) against the *inverted* assignment, per arm a on
    the rows of arm a and control (arm codes: 0 = control, 1..K)."""
    arm_ids = torch.arange(1, t_logit.shape[1] + 1)
    member = (arm[:, None] == arm_ids[None, :]) | (arm[:, None] == 0)
    target = 1.0 - (arm[:, None] == arm_ids[None, :]).float()
    bce = F.binary_cross_entropy_with_logits(t_logit, target, reduction="none")
    return (bce * member).sum() / member.sum().clamp(min=1)


class EFINModule(nn.Module):
    """EFIN's network: ``parts`` gives (μ, τ, treatment logits), ``forward`` per-arm logits."""

    def __init__(
        self, n_features: int, n_arms: int, n_stages: int, d: int, hidden: int, use_self: bool,
        arm_towers: bool = True, attention: str = "official",
    ):  # fmt: skip
        super().__init__()
        self.n_arms, self.d, self.use_self, self.attention = n_arms, d, use_self, attention
        towers = n_arms if arm_towers else 1
        self.field = nn.Parameter(torch.randn(n_features, d))
        self.treatment = nn.Linear(n_arms, d)  # treatment features → e_{t,a}
        self.q, self.k, self.v = (nn.Linear(d, d) for _ in range(3))
        self.control = mlp([n_features * d, hidden, hidden // 2], n_stages)
        self.att_t = nn.Linear(d, d, bias=False)
        self.att_x = nn.Linear(d, d)
        self.att_w = nn.Linear(d, 1, bias=False)
        # one tower (and τ / treatment head) per arm, or one shared by every arm
        self.uplift = nn.ModuleList(mlp([3 * d, hidden // 2, hidden // 4]) for _ in range(towers))
        self.tau = nn.ModuleList(nn.Linear(hidden // 4, n_stages) for _ in range(towers))
        self.t_head = nn.ModuleList(nn.Linear(hidden // 4, 1) for _ in range(towers))

    def parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Control logit (b, S), effect logits (b, K, S), treatment-head logits (b, K)."""
        e = embed_features(x, self.field)  # (b, F, d)
        e_norm = e / (torch.linalg.norm(e, dim=1, keepdim=True) + 1e-6)
        if self.use_self:
            scores = self.q(e_norm) @ self.k(e_norm).transpose(1, 2) / math.sqrt(self.d)
            e_norm = torch.softmax(scores, dim=-1) @ self.v(e_norm)
        mu = self.control(e_norm.flatten(1))
        eye = torch.eye(self.n_arms, dtype=x.dtype, device=x.device)
        arms = self.treatment(eye)  # (K, d)
        h = self.interaction_weights(e, arms) @ e  # (b, K, d)
        t_feat = arms[None].expand_as(h)
        tower_in = torch.cat([h, t_feat, h * t_feat], dim=-1)  # (b, K, 3d)
        if len(self.uplift) == 1:  # shared tower
            last = self.uplift[0](tower_in)
            return mu, self.tau[0](last), self.t_head[0](last).squeeze(-1)
        lasts = [tower(tower_in[:, a]) for a, tower in enumerate(self.uplift)]
        tau = torch.stack([head(last) for head, last in zip(self.tau, lasts, strict=True)], 1)
        t_logit = torch.cat([head(last) for head, last in zip(self.t_head, lasts, strict=True)], 1)
        return mu, tau, t_logit

    def interaction_weights(self, e: torch.Tensor, arms: torch.Tensor) -> torch.Tensor:
        """Treatment-aware attention α (b, K, F) of every arm over the field embeddings e.

        ``official``: s_{a,j} = wᵀ ReLU(σ(W_1 e_{t,a}) + σ(W_2 e_j)). The ReLU's input is a sum
        of sigmoids, so it is the identity and s_{a,j} = wᵀσ(W_1 e_{t,a}) + wᵀσ(W_2 e_j): the
        treatment's term is the same for every field and cancels in the softmax, so every arm
        gets the same weights (tested). ``additive``: s_{a,j} = wᵀ ReLU(W_1 e_{t,a} + W_2 e_j + b),
        where the ReLU can cut, so each arm weighs the fields its own way.
        """
        t_term, x_term = self.att_t(arms), self.att_x(e)
        if self.attention == "official":
            t_term, x_term = torch.sigmoid(t_term), torch.sigmoid(x_term)
        score = self.att_w(torch.relu(t_term[None, :, None, :] + x_term[:, None, :, :]))
        return torch.softmax(score.squeeze(-1), dim=-1)  # (b, K, F)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, tau, _ = self.parts(x)
        return torch.cat([mu[:, None, :], mu[:, None, :] + tau], dim=1)
