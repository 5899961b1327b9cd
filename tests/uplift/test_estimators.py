"""Uplift estimators: exact values on hand-built data, the sklearn front (Pipeline, GridSearchCV
through metadata routing, estimator checks), multi-arm shapes and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklift.metrics import qini_auc_score as sklift_qini
from sklift.metrics import uplift_auc_score as sklift_auuc

from shopml.uplift import (
    ECUP,
    EFIN,
    SLearner,
    TARNet,
    TLearner,
    UpliftInputError,
    XLearner,
    arm_scores,
    get_method,
    methods,
    uplift_scorer,
)


def _arms_data(n: int = 600, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    t = np.arange(n) % 3
    logit = 0.3 * X[:, 0] + (t == 1) * 1.5 * X[:, 1] - (t == 2) * 1.5 * X[:, 1]
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(float)
    return X, y, t


def test_registry_lists_every_method():
    assert methods() == ["ecup", "efin", "s_learner", "t_learner", "tarnet", "x_learner"]
    with pytest.raises(KeyError, match="known"):
        get_method("nope")


def test_t_learner_with_mean_model_is_the_difference_of_group_means():
    X = np.zeros((6, 1))
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    t = np.array([0, 0, 1, 1, 2, 2])
    uplift = TLearner(DummyRegressor()).fit(X, y, treatment=t).predict(X)
    # control mean 0.5, arm 1 mean 0.5, arm 2 mean 0.5 -> zero; change one label
    assert uplift.shape == (6, 2)
    np.testing.assert_allclose(uplift, 0.0)
    y[2] = 1.0  # arm 1 mean becomes 1.0
    uplift = TLearner(DummyRegressor()).fit(X, y, treatment=t).predict(X)
    np.testing.assert_allclose(uplift[0], [0.5, 0.0])


def test_s_learner_linear_recovers_constant_arm_effects():
    x = np.arange(9, dtype=float).reshape(-1, 1)
    t = np.array([0, 1, 2] * 3)
    y = 1.0 + 0.5 * x[:, 0] + 2.0 * (t == 1) + 3.0 * (t == 2)
    uplift = SLearner(LinearRegression()).fit(x, y, treatment=t).predict(x[:2])
    np.testing.assert_allclose(uplift, [[2.0, 3.0], [2.0, 3.0]], atol=1e-9)


def test_x_learner_linear_recovers_heterogeneous_effect():
    x = np.linspace(-1, 1, 20).reshape(-1, 1)
    t = np.arange(20) % 2
    y = x[:, 0] + t * (1.0 + 2.0 * x[:, 0])
    model = XLearner(LinearRegression()).fit(x, y, treatment=t)
    np.testing.assert_allclose(model.predict([[0.0], [0.5]]), [[1.0], [2.0]], atol=1e-9)


def test_arm_codes_need_not_be_contiguous():
    x = np.arange(8, dtype=float).reshape(-1, 1)
    t = np.array([0, 5, 0, 5, 0, 9, 0, 9])
    y = 2.0 * (t == 5) - 1.0 * (t == 9)
    model = SLearner(LinearRegression()).fit(x, y, treatment=t)
    assert model.arms_.tolist() == [5, 9]
    np.testing.assert_allclose(model.predict(x[:1]), [[2.0, -1.0]], atol=1e-9)


@pytest.mark.parametrize(
    ("treatment", "message"),
    [
        (None, "treatment is required"),
        (np.ones(6), "no control rows"),
        (np.zeros(6), "only control rows"),
        (np.array([0, 1, 0, 1, 0, -1]), "row 5"),
        (np.array([0, 1, 0, 1, 0, 0.5]), "row 5"),
        (np.array([0, 1, 0]), "one code per row"),
    ],
)
def test_bad_treatment_is_named(treatment, message):
    X, y = np.zeros((6, 1)), np.array([0, 1, 0, 1, 0, 1.0])
    with pytest.raises(UpliftInputError, match=message):
        TLearner(DummyRegressor()).fit(X, y, treatment=treatment)


def test_arm_scores_match_sklift_per_arm():
    _, y, t = _arms_data(900, seed=3)
    rng = np.random.default_rng(4)
    uplift = rng.normal(size=(900, 2))
    qini = arm_scores(y, uplift, t, "qini")
    auuc = arm_scores(y, uplift, t, "auuc")
    for column, arm in enumerate((1, 2)):
        rows = (t == 0) | (t == arm)
        treated = (t[rows] == arm).astype(int)
        assert qini[column] == pytest.approx(sklift_qini(y[rows], uplift[rows, column], treated))
        assert auuc[column] == pytest.approx(sklift_auuc(y[rows], uplift[rows, column], treated))
    with pytest.raises(UpliftInputError, match="column"):
        arm_scores(y, uplift[:, :1], t)


def test_scorer_needs_metadata_routing():
    with (
        sklearn.config_context(enable_metadata_routing=False),
        pytest.raises(UpliftInputError, match="metadata routing"),
    ):
        uplift_scorer("qini")


def test_pipeline_and_grid_search_route_treatment_to_fit_and_scorer():
    X, y, t = _arms_data(900, seed=1)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler(), TLearner(DummyRegressor()).set_fit_request(treatment=True)
        )
        search = GridSearchCV(
            pipe,
            {"tlearner__base_estimator": [DummyRegressor(), LinearRegression()]},
            scoring=uplift_scorer("qini"),
            cv=3,
        )
        search.fit(X, y, treatment=t)
        # a constant model ranks nobody; the linear model finds the x1 effect in both arms
        assert isinstance(search.best_params_["tlearner__base_estimator"], LinearRegression)
        assert search.best_score_ > 0.1
        assert search.predict(X[:5]).shape == (5, 2)
        pipe.fit(X, y, treatment=t)
        assert pipe.predict(X[:3]).shape == (3, 2)


@pytest.mark.parametrize("name", ["tarnet", "efin", "ecup"])
def test_neural_estimators_rank_a_strong_effect(name):
    X, y, t = _arms_data(3000, seed=2)
    model = get_method(name)(epochs=20, patience=20, random_state=0)
    uplift = model.fit(X[:2400], y[:2400], treatment=t[:2400]).predict(X[2400:])
    assert uplift.shape == (600, 2)
    # arm 1 effect grows with x1, arm 2 effect falls with it
    assert np.corrcoef(uplift[:, 0], X[2400:, 1])[0, 1] > 0.5
    assert np.corrcoef(uplift[:, 1], X[2400:, 1])[0, 1] < -0.5


def test_fitted_nets_report_epochs_run_and_kept():
    X, y, t = _arms_data(600, seed=3)
    full = EFIN(epochs=3, patience=10).fit(X, y, treatment=t)
    assert full.n_epochs_ == 3 and 1 <= full.best_epoch_ <= 3
    # patience 1 stops at the first epoch without a better validation loss
    early = EFIN(epochs=50, patience=1, learning_rate=0.05).fit(X, y, treatment=t)
    assert early.n_epochs_ == early.best_epoch_ + 1 < 50
    # without validation rows every epoch runs and the last is kept
    whole = EFIN(epochs=2, validation_fraction=0.0).fit(X, y, treatment=t)
    assert whole.n_epochs_ == whole.best_epoch_ == 2


@pytest.mark.parametrize("estimator", [TARNet, EFIN, ECUP])
@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"epochs": 0}, "epochs=0"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"learning_rate": 0.0}, "learning_rate=0.0"),
        ({"validation_fraction": 1.0}, "validation_fraction=1.0"),
        ({"patience": 0}, "patience=0"),
        ({"epochs": 2.5}, "epochs=2.5"),
        ({"random_state": -1}, "random_state=-1"),
        ({"random_state": "7"}, "random_state='7'"),
        ({"hidden": 0}, "hidden=0"),
    ],
)
def test_bad_training_parameters_are_named(estimator, params, named):
    X, y, t = _arms_data(200, seed=4)
    with pytest.raises(UpliftInputError, match=named):
        estimator(**params).fit(X, y, treatment=t)


@pytest.mark.parametrize(
    ("estimator", "params"),
    [(TARNet, {"head_hidden": 0}), (EFIN, {"embed_dim": 0}), (ECUP, {"embed_dim": 0})],
)
def test_zero_width_layers_are_refused_not_trained(estimator, params):
    """Before: a zero-width network trained with only torch's UserWarnings."""
    X, y, t = _arms_data(200, seed=4)
    name, value = next(iter(params.items()))
    with pytest.raises(UpliftInputError, match=f"{name}={value}"):
        estimator(**params).fit(X, y, treatment=t)


def test_whole_number_parameters_given_as_numpy_ints_or_whole_floats_still_fit():
    X, y, t = _arms_data(200, seed=4)
    model = TARNet(epochs=np.int64(1), hidden=8.0, random_state=np.int64(3)).fit(X, y, treatment=t)
    assert model.n_epochs_ == 1


def test_moving_average_of_the_weights():
    import torch

    from shopml.uplift.nets import moving_average

    average, current = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        average.weight.fill_(1.0), average.bias.fill_(0.0)
        current.weight.fill_(3.0), current.bias.fill_(-2.0)
    moving_average(average, current, 0.75)
    torch.testing.assert_close(average.weight, torch.full((1, 2), 1.5))
    torch.testing.assert_close(average.bias, torch.tensor([-0.5]))
    torch.testing.assert_close(current.weight, torch.full((1, 2), 3.0))  # left as it was


@pytest.mark.parametrize("name", ["tarnet", "efin", "ecup"])
def test_weight_average_keeps_the_averaged_weights(name):
    """With ``weight_average`` the kept model is the moving average of the trained weights:
    a different fit from the same draws, which still learns the effect."""
    X, y, t = _arms_data(3000, seed=2)
    plain = get_method(name)(epochs=20, patience=20, weight_average=False)
    plain.fit(X[:2400], y[:2400], treatment=t[:2400])
    averaged = get_method(name)(epochs=20, patience=20, weight_average=True)
    averaged.fit(X[:2400], y[:2400], treatment=t[:2400])
    uplift = averaged.predict(X[2400:])
    assert not np.allclose(uplift, plain.predict(X[2400:]))
    assert np.corrcoef(uplift[:, 0], X[2400:, 1])[0, 1] > 0.5
    assert np.corrcoef(uplift[:, 1], X[2400:, 1])[0, 1] < -0.5
    assert 1 <= averaged.best_epoch_ <= averaged.n_epochs_ <= 20


def test_only_ecup_averages_its_weights_by_default():
    """ECUP's default is the averaged weights (docs/marketing.md); EFIN's and TARNet's are not."""
    assert ECUP().weight_average and not EFIN().weight_average
    assert not get_method("tarnet")().weight_average


def test_ecup_chain_stages_and_conversion_only():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    t = np.arange(400) % 2
    click = (rng.uniform(size=400) < 0.5).astype(float)
    conversion = click * (rng.uniform(size=400) < 0.3)
    chain = np.column_stack([click, conversion])
    model = ECUP(epochs=1).fit(X, chain, treatment=t)
    assert model.predict_stages(X[:4]).shape == (4, 1, 2)
    np.testing.assert_allclose(model.predict(X[:4]), model.predict_stages(X[:4])[:, :, -1])
    first = ECUP(epochs=1, target_stage=0).fit(X, chain, treatment=t)
    np.testing.assert_allclose(first.predict(X[:4]), first.predict_stages(X[:4])[:, :, 0])
    alone = ECUP(epochs=1, chain=False).fit(X, chain, treatment=t)
    assert alone.predict_stages(X[:4]).shape == (4, 1, 1)
    outcomes = model.predict_outcomes(X[:4])
    assert (outcomes[:, :, 1] <= outcomes[:, :, 0] + 1e-9).all()  # conversion within click
    with pytest.raises(UpliftInputError, match="binary chain labels"):
        ECUP(epochs=1).fit(X, chain * 2.5, treatment=t)


def test_efin_modules_can_be_switched_off():
    X, y, t = _arms_data(300)
    for kwargs in ({"use_self_interaction": False}, {"constraint_weight": 0.0}, {"arm_towers": False}):
        assert EFIN(epochs=1, **kwargs).fit(X, y, treatment=t).predict(X).shape == (300, 2)


def test_efin_has_one_uplift_tower_per_arm_and_one_arm_needs_no_choice():
    X, y, t = _arms_data(300)
    model = EFIN(epochs=1).fit(X, y, treatment=t)
    assert len(model.module_.uplift) == 2 and len(model.module_.tau) == 2
    assert len(EFIN(epochs=1, arm_towers=False).fit(X, y, treatment=t).module_.uplift) == 1
    # one arm: the per-arm and the shared tower are the same network from the same draws
    binary = t.clip(max=1)
    own = EFIN(epochs=2).fit(X, y, treatment=binary).predict(X)
    shared = EFIN(epochs=2, arm_towers=False).fit(X, y, treatment=binary).predict(X)
    np.testing.assert_array_equal(own, shared)


def test_efin_official_attention_is_the_same_for_every_arm():
    """The official additive form puts sigmoids inside the ReLU, so the treatment's term is
    constant over the fields and cancels in the softmax: equal weights, no gradient to W_1."""
    import torch

    from shopml.uplift.nets import embed_features

    X, y, t = _arms_data(300)
    module = EFIN(epochs=1).fit(X, y, treatment=t).module_.float()
    x = torch.from_numpy(X[:16].astype(np.float32))
    e = embed_features(x, module.field)
    arms = module.treatment(torch.eye(module.n_arms))
    weights = module.interaction_weights(e, arms)
    assert weights.shape == (16, 2, X.shape[1])
    torch.testing.assert_close(weights[:, 0], weights[:, 1])
    assert weights[:, 0].std(dim=-1).max() > 1e-4  # not uniform: the fields' term still acts
    module.zero_grad()
    (weights[:, :, 0] * torch.arange(1.0, 17.0)[:, None]).sum().backward()
    assert module.att_t.weight.grad.abs().max() < 1e-6
    assert module.att_x.weight.grad.abs().max() > 1e-6


def test_efin_additive_attention_weighs_the_fields_per_arm():
    import torch

    from shopml.uplift.nets import embed_features

    X, y, t = _arms_data(300)
    module = EFIN(epochs=1, interaction_attention="additive").fit(X, y, treatment=t).module_
    x = torch.from_numpy(X[:16])
    weights = module.interaction_weights(
        embed_features(x, module.field), module.treatment(torch.eye(2, dtype=x.dtype))
    )
    torch.testing.assert_close(weights.sum(-1), torch.ones(16, 2, dtype=x.dtype))
    assert (weights[:, 0] - weights[:, 1]).abs().max() > 1e-4
    with pytest.raises(UpliftInputError, match=r"interaction_attention='dot'.*official, additive"):
        EFIN(epochs=1, interaction_attention="dot").fit(X, y, treatment=t)


# ----------------------------------------------------------------------- sklearn checks
def _with_fixed_treatment(cls: type, binarise: bool = False) -> type:
    """The estimator with fit(X, y) supplying an alternating 0/1 treatment (sklearn's checks
    call fit without it); ECUP's checks also binarise y (it needs 0/1 chain labels)."""

    class Checked(cls):
        def fit(self, X, y, treatment=None):
            n = np.asarray(X).shape[0] if not hasattr(X, "shape") else X.shape[0]
            if treatment is None:
                treatment = np.arange(n) % 2
            if binarise and y is not None:
                y_arr = np.asarray(y, dtype=float)
                y = (y_arr > np.median(y_arr)).astype(float)
            return super().fit(X, y, treatment=treatment)

    Checked.__name__ = f"{cls.__name__}WithTreatment"
    Checked.__qualname__ = Checked.__name__
    globals()[Checked.__name__] = Checked  # picklable by name (check_estimators_pickle)
    return Checked


#: checks that do not apply, and why
NOT_APPLICABLE: dict[str, str] = {}

CHECKED = [
    _with_fixed_treatment(SLearner)(LinearRegression()),
    _with_fixed_treatment(TLearner)(LinearRegression()),
    _with_fixed_treatment(XLearner)(LinearRegression()),
    _with_fixed_treatment(TARNet)(epochs=2, hidden=8, head_hidden=4),
    _with_fixed_treatment(EFIN)(epochs=2, hidden=8, embed_dim=4),
    _with_fixed_treatment(ECUP, binarise=True)(epochs=2, hidden=8, embed_dim=4),
]


@parametrize_with_checks(CHECKED, expected_failed_checks=lambda est: NOT_APPLICABLE)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["control", "a", "b"]),
        pd.Categorical(["control", "a", "b"]),
    ],
    ids=["strings", "categorical"],
)
@pytest.mark.parametrize("estimator", [SLearner(LinearRegression()), TLearner(DummyRegressor())])
def test_string_treatment_labels_are_refused_with_the_row_and_a_fix(labels, estimator):
    X, y = np.zeros((6, 1)), np.array([0, 1, 0, 1, 0, 1.0])
    treatment = np.asarray(labels)[[0, 1, 2, 0, 1, 2]]
    with pytest.raises(UpliftInputError, match=r"treatment .*row 0 is 'control'.*integer arm codes"):
        estimator.fit(X, y, treatment=treatment)



@pytest.mark.parametrize("name", ["s_learner", "t_learner", "x_learner", "tarnet", "efin", "ecup"])
def test_sample_weight_is_refused_as_unsupported(name):
    X, y, t = _arms_data(60)
    with pytest.raises(UpliftInputError, match="sample_weight is not supported"):
        get_method(name)().fit(X, y, treatment=t, sample_weight=np.ones(60))
    with pytest.raises(TypeError, match="unexpected keyword"):
        get_method(name)().fit(X, y, treatment=t, weights=np.ones(60))


def _arm_code_data(n: int = 1500, seed: int = 0):
    """Arms 1 and 3 (no arm 2): arm 1 has an effect where x0 > 0, arm 3 where x1 > 0."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    t = np.array([0, 1, 3])[np.arange(n) % 3]
    p = 0.1 + 0.4 * ((t == 1) & (X[:, 0] > 0)) + 0.4 * ((t == 3) & (X[:, 1] > 0))
    return X, (rng.uniform(size=n) < p).astype(float), t


def test_arm_scores_match_columns_to_rows_by_arm_code():
    X, y, t = _arm_code_data()
    uplift = np.column_stack([X[:, 0], X[:, 1]])  # the fitted arms [1, 3]
    both = arm_scores(y, uplift, t, arms=[1, 3])
    assert both == arm_scores(y, uplift, t)  # every fitted arm present: same as by position
    only_arm3 = t != 1
    with pytest.warns(UserWarning, match=r"no scored rows of arm\(s\) \[1\]"):
        scores = arm_scores(y[only_arm3], uplift[only_arm3], t[only_arm3], arms=[1, 3])
    assert scores == [pytest.approx(both[1])]  # arm 3's column, not arm 1's
    # rows of an arm the model never saw, or a column per arm missing: refused
    with pytest.raises(UpliftInputError, match=r"arm\(s\) \[2\] that the model was not fitted on"):
        arm_scores(y, uplift, np.where(t == 3, 2, t), arms=[1, 3])
    with pytest.raises(UpliftInputError, match=r"1 column\(s\) but the model has 2 arm\(s\)"):
        arm_scores(y, uplift[:, :1], t, arms=[1, 3])


def test_scorer_scores_by_the_fitted_arms():
    X, y, t = _arm_code_data()
    model = TLearner(LinearRegression()).fit(X, y, treatment=t)
    only_arm3 = t != 1
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = uplift_scorer("qini")
    with pytest.warns(UserWarning, match="no scored rows"):
        score = scorer(model, X[only_arm3], y[only_arm3], treatment=t[only_arm3])
    expected = arm_scores(y, model.predict(X), t, arms=[1, 3])[1]
    assert score == pytest.approx(expected)
    assert score > 0.05  # the arm-3 column against the arm-3 rows
    with pytest.raises(UpliftInputError, match="not fitted on"):
        scorer(model, X, y, treatment=np.where(t == 3, 2, t))


def test_cross_validation_scores_a_fold_without_one_arm():
    """Arm 3 only in the last two thirds: the first test fold lacks it, its model has it."""
    from sklearn.model_selection import KFold, cross_validate

    X, y, t = _arm_code_data(1500)
    t[:500] = np.where(t[:500] == 3, 1, t[:500])
    with sklearn.config_context(enable_metadata_routing=True):
        model = TLearner(LinearRegression()).set_fit_request(treatment=True)
        with pytest.warns(UserWarning, match=r"no scored rows of arm\(s\) \[3\]"):
            result = cross_validate(
                model, X, y, params={"treatment": t}, scoring=uplift_scorer("qini"),
                cv=KFold(3), error_score="raise",
            )  # fmt: skip
    assert np.isfinite(result["test_score"]).all()


def _chain_data(n: int = 400):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    t = np.arange(n) % 2
    click = (rng.uniform(size=n) < 0.3 + 0.3 * t * (X[:, 0] > 0)).astype(float)
    conversion = click * (rng.uniform(size=n) < 0.3 + 0.4 * (X[:, 1] > 0))
    return X, np.column_stack([click, conversion]), t


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"target_stage": 5}, r"target_stage=5 but y has 2 stage column\(s\)"),
        ({"target_stage": -3}, r"target_stage=-3 but y has 2 stage column\(s\)"),
        ({"chain": False, "target_stage": 0}, "chain=False models the last stage alone"),
    ],
)
def test_ecup_target_stage_is_checked_before_training(params, message, monkeypatch):
    X, chain, t = _chain_data()

    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking target_stage")

    monkeypatch.setattr(ECUP, "_build", no_training)
    with pytest.raises(UpliftInputError, match=message):
        ECUP(epochs=1, **params).fit(X, chain, treatment=t)


def test_ecup_last_stage_may_be_named_without_the_chain():
    X, chain, t = _chain_data()
    for stage in (-1, 1):
        model = ECUP(epochs=1, chain=False, target_stage=stage).fit(X, chain, treatment=t)
        assert model.scored_stage_ == 1


def test_scorer_scores_ecup_against_the_stage_it_predicts():
    X, chain, t = _chain_data()
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = uplift_scorer("qini")
    for stage in (0, 1):
        model = ECUP(epochs=2, target_stage=stage).fit(X, chain, treatment=t)
        assert model.scored_stage_ == stage
        expected = arm_scores(chain[:, stage], model.predict(X), t, arms=model.arms_)[0]
        assert scorer(model, X, chain, treatment=t) == pytest.approx(expected)
    assert expected != pytest.approx(arm_scores(chain[:, 0], model.predict(X), t)[0])


def _with_nan(n: int = 600):
    X, y, t = _arms_data(n)
    X = X.copy()
    X[::7, 2] = np.nan
    return X, y, t


@pytest.mark.parametrize(
    "estimator",
    [
        SLearner(),
        TLearner(HistGradientBoostingClassifier(max_iter=10)),
        XLearner(HistGradientBoostingClassifier(max_iter=10)),
        SLearner(HistGradientBoostingClassifier(max_iter=10)),
    ],
    ids=["s_default", "t_hgb_classifier", "x_hgb_classifier", "s_hgb_classifier"],
)
def test_missing_features_reach_a_base_model_that_takes_them(estimator):
    X, y, t = _with_nan()
    uplift = estimator.fit(X, y, treatment=t).predict(X)
    assert uplift.shape == (600, 2) and np.isfinite(uplift).all()


def test_missing_features_are_refused_naming_the_columns_and_the_model():
    X, y, t = _with_nan()
    frame = pd.DataFrame(X, columns=["a", "b", "blank_c", "d"])
    with pytest.raises(UpliftInputError, match=r"LinearRegression cannot take missing .* blank_c \(86 rows\)"):
        SLearner(LinearRegression()).fit(frame, y, treatment=t)
    with pytest.raises(UpliftInputError, match=r"DummyRegressor, LinearRegression cannot .*column 2"):
        XLearner(DummyRegressor(), effect_estimator=LinearRegression()).fit(X, y, treatment=t)
    # a model fitted on complete rows refuses NaN at predict the same way
    fitted = TLearner(LinearRegression()).fit(np.nan_to_num(X), y, treatment=t)
    with pytest.raises(UpliftInputError, match="NaN"):
        fitted.predict(X)


@pytest.mark.parametrize("learner", [SLearner, TLearner, XLearner])
def test_a_feature_missing_on_every_row_is_named(learner):
    X, y, t = _with_nan()
    frame = pd.DataFrame(X, columns=["a", "b", "blank_c", "d"]).assign(d=np.nan)
    with pytest.raises(UpliftInputError, match=r"feature\(s\) d have no value on any training row"):
        learner().fit(frame, y, treatment=t)


@pytest.mark.parametrize("name", ["tarnet", "efin", "ecup"])
def test_networks_say_they_need_imputed_features(name):
    X, y, t = _with_nan()
    frame = pd.DataFrame(X, columns=["a", "b", "blank_c", "d"])
    with pytest.raises(UpliftInputError, match=r"needs imputed features.*blank_c \(86 rows\)"):
        get_method(name)(epochs=1).fit(frame, y, treatment=t)


def test_missing_values_reach_an_imputing_pipeline_or_a_search_over_a_model_that_takes_them():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from shopml.uplift.base import allows_nan

    assert allows_nan(make_pipeline(SimpleImputer(), LogisticRegression()))
    assert not allows_nan(make_pipeline(LogisticRegression()))
    search = GridSearchCV(HistGradientBoostingClassifier(max_iter=5), {"max_depth": [2]}, cv=2)
    assert allows_nan(search)
    assert not allows_nan(GridSearchCV(LogisticRegression(), {"C": [1.0]}))


@pytest.mark.parametrize("learner", [SLearner, TLearner, XLearner])
@pytest.mark.parametrize("outcome", [(0, 1, 2), (0, 2)])
def test_classifier_base_model_refuses_an_outcome_that_is_not_0_1(learner, outcome):
    """A classifier's P(y = 1) is E[y] only for 0/1 outcomes: other values are refused, not
    fitted as a multi-class model (before: silent P(y = 1) or "1 is not in list")."""
    from sklearn.linear_model import LogisticRegression

    X, _, t = _arms_data(300)
    y = np.random.default_rng(0).choice(np.array(outcome, dtype=float), size=len(t))
    with pytest.raises(UpliftInputError, match=r"classifier base model .*0/1 outcome"):
        learner(LogisticRegression()).fit(X, y, treatment=t)


@pytest.mark.parametrize("estimator", [TARNet, EFIN, ECUP])
def test_random_state_as_scikit_learn_reads_it(estimator):
    """A seed gives the same fit; None a fresh seed per fit; a RandomState draws the seed from
    itself (so two equal states give the same fit). ``seed_`` keeps the seed used. Before:
    None and RandomState were refused."""
    X, y, t = _arms_data(300, seed=4)

    def fit(state):
        return estimator(epochs=1, random_state=state).fit(X, y, treatment=t)

    first, again = fit(3), fit(3)
    assert first.seed_ == again.seed_ == 3
    np.testing.assert_array_equal(first.predict(X), again.predict(X))
    drawn = [fit(np.random.RandomState(5)) for _ in range(2)]
    assert drawn[0].seed_ == drawn[1].seed_ == np.random.RandomState(5).randint(2**31 - 1)
    np.testing.assert_array_equal(drawn[0].predict(X), drawn[1].predict(X))
    fresh = [fit(None).seed_ for _ in range(3)]
    assert len(set(fresh)) > 1


@pytest.mark.parametrize("estimator", [TARNet, EFIN, ECUP])
def test_verbose_networks_show_their_training_in_a_log(estimator, capsys, monkeypatch):
    """In a log file (not a terminal) a verbose fit prints a progress line every 30 s (here
    every batch) with the epoch and validation loss; a quiet one prints nothing."""
    import shopml.progress

    X, y, t = _arms_data(300, seed=4)
    estimator(epochs=2, patience=5).fit(X, y, treatment=t)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(shopml.progress, "INTERVAL_S", 0.0)
    fitted = estimator(epochs=2, patience=5, verbose=True).fit(X, y, treatment=t)
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1].startswith(f"{estimator.__name__} training (at most 2 epochs): ")
    assert "epoch=2, val_loss=" in lines[-1] and f"best_epoch={fitted.best_epoch_}]" in lines[-1]
