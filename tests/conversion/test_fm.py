"""The factorization-machine term and the DeepFM option of the baselines' DualTower."""

import itertools

import pytest
import torch

from shopml.conversion.base import DualTower, ModelConfig, get_method
from shopml.conversion.trainer import pretrain_key
from shopml.nn import FMInteraction


def test_fm_term_by_hand():
    """Three fields of width 2: <v1,v2> + <v1,v3> + <v2,v3> = 2 + (3 - 4) + (-2) = -1."""
    emb = torch.tensor([[[1.0, 2.0], [0.0, 1.0], [3.0, -2.0]]])
    assert FMInteraction()(emb).tolist() == pytest.approx([-1.0])


def test_fm_term_equals_the_sum_over_field_pairs():
    """Rendle's O(F·k) form equals the plain double sum over pairs f < g."""
    emb = torch.randn(5, 6, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    brute = sum((emb[:, f] * emb[:, g]).sum(1) for f, g in itertools.combinations(range(6), 2))
    torch.testing.assert_close(FMInteraction()(emb), brute)


def test_fm_term_refuses_flat_input():
    with pytest.raises(ValueError, match=r"\[B, F, dim\]"):
        FMInteraction()(torch.zeros(3, 8))


def test_dual_tower_with_fm_adds_deep_fm_terms_to_both_logits():
    """Same shared weights, fm on and off: the logits differ by exactly each tower's FM part,
    a weight per code plus the pairwise term of the MLP's own embeddings."""
    x = torch.tensor([[0, 1, 2], [3, 0, 1]])
    torch.manual_seed(0)
    plain = DualTower([4, 2, 3], ModelConfig(hidden=[5]))
    deep_fm = DualTower([4, 2, 3], ModelConfig(hidden=[5], fm=True))
    with torch.no_grad():
        for table in (plain.emb_cvr.table, plain.emb_rfr.table):
            table.weight.normal_()  # the init's sd 0.01 makes the FM term vanish
    missing = deep_fm.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["wide_cvr.table.weight", "wide_rfr.table.weight"]
    plain.eval(), deep_fm.eval()
    a, b = plain(x), deep_fm(x)
    fm = FMInteraction()
    wide_cvr = deep_fm.wide_cvr.table.weight[torch.tensor([[0, 5, 8], [3, 4, 7]])].sum((1, 2))
    torch.testing.assert_close(b["cvr_logit"], a["cvr_logit"] + fm(plain.emb_cvr(x)) + wide_cvr)
    wide_rfr = deep_fm.wide_rfr(x).sum((1, 2))
    torch.testing.assert_close(b["rfr_logit"], a["rfr_logit"] + fm(plain.emb_rfr(x)) + wide_rfr)
    assert not torch.allclose(a["cvr_logit"], b["cvr_logit"])


def test_fm_and_plain_towers_never_share_a_pre_trained_state():
    """The FM term has no weights, so equal shapes must not make the two networks one key."""
    plain, deep_fm = get_method("oracle"), get_method("oracle", ModelConfig(fm=True))
    key_plain = pretrain_key(plain, plain.build_model([4, 2, 3]))
    key_fm = pretrain_key(deep_fm, deep_fm.build_model([4, 2, 3]))
    assert key_plain != key_fm
    assert key_plain == pretrain_key(plain, get_method("fnc").build_model([4, 2, 3]))


def test_fm_is_dumped_only_when_on():
    """Cards written before the option existed hold configs without it: they still compare."""
    assert "fm" not in ModelConfig().model_dump()
    assert ModelConfig.model_validate(ModelConfig(fm=True).model_dump()).fm is True


@pytest.mark.parametrize("name", ["tesla", "ecad", "ecad_stream"])
def test_methods_with_their_own_network_refuse_fm(name):
    """fm=True would otherwise be dropped without a word by TESLA's and ECAD's networks."""
    with pytest.raises(ValueError, match=f"{name}: ModelConfig.fm=True. makes the baselines"):
        get_method(name, ModelConfig(fm=True))


@pytest.mark.parametrize("name", ["pretrained", "bdl", "fnw", "esdfm", "defer", "defuse", "ddfm"])
def test_every_dual_tower_method_builds_deep_fm_towers(name):
    model = get_method(name, ModelConfig(fm=True)).build_model([4, 2, 3])
    assert isinstance(model, DualTower) and model.fm is not None
