"""The stream trainer: the protocol's split, evaluation, and checkpoint/resume."""

import numpy as np
import pytest
import torch

from shopml.conversion.base import ModelConfig, get_method
from shopml.conversion.stream import StreamConfig, StreamSplit
from shopml.conversion.timeline import Windows
from shopml.conversion.trainer import RunConfig, StreamData, run_stream, stream_metrics
from shopml.data.simulate import simulate


@pytest.fixture(scope="module")
def small_world():
    world = simulate("cascade", 40_000, 5)
    config = RunConfig(
        stream=StreamConfig(pretrain_days=8, stream_days=1, slice_s=3600),
        model=ModelConfig(pretrain_epochs=1, batch_size=256, hidden=[16]),
        seed=3,
        checkpoint_every=5,
    )
    return world, config, StreamData.from_log(world.log, config.windows, config.stream)


def test_split_has_gap_of_both_attribution_windows(small_world):
    _, _, data = small_world
    split = data.split
    assert split.stream_start - split.pretrain_end == 6 * 86400
    assert split.n_slices == 24
    click_ts = data.timeline.click_ts
    assert click_ts[split.pretrain_rows(click_ts)].max() < split.pretrain_end
    assert split.slice_index(
        np.array([split.stream_start - 1, split.stream_start, split.stream_end])
    ).tolist() == [-1, 0, 24]


def test_split_rejects_a_too_short_log():
    with pytest.raises(ValueError, match="too short"):
        StreamSplit.make(np.array([0, 86400 * 5]), Windows(), StreamConfig(pretrain_days=4))


@pytest.mark.parametrize("method", ["esdfm", "tesla"])
def test_resume_gives_identical_metrics(small_world, tmp_path, method):
    _, config, data = small_world
    straight = run_stream(get_method(method, config.model), data, config, progress=False)
    stopped = run_stream(
        get_method(method, config.model),
        data,
        config,
        checkpoint=tmp_path,
        progress=False,
        stop_after=12,
    )
    assert stopped is None and any(tmp_path.iterdir())
    resumed = run_stream(
        get_method(method, config.model), data, config, checkpoint=tmp_path, progress=False
    )
    assert resumed.metrics == straight.metrics
    np.testing.assert_array_equal(resumed.p_net, straight.p_net)
    assert not any(tmp_path.iterdir())  # a finished run removes its checkpoint


class _Readings:
    """The trainer's clock, one second per reading: wall times count readings, so they are
    the same in every run that does the same work (no timing in the test)."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 1.0
        return self.now


def test_a_resumed_run_reports_the_wall_time_of_all_its_parts(small_world, tmp_path, monkeypatch):
    import shopml.conversion.trainer as trainer

    _, config, data = small_world
    clock = _Readings()
    monkeypatch.setattr(trainer, "time", clock)
    method = "fnw"
    straight = run_stream(
        get_method(method, config.model), data, config, checkpoint=tmp_path / "straight",
        progress=False,
    )  # fmt: skip
    assert straight.resumed_from_slices == []
    assert "resumed_from_slices" not in straight.card_entry(method)
    ckpt = tmp_path / "parts"
    stopped = run_stream(
        get_method(method, config.model), data, config, checkpoint=ckpt, progress=False,
        stop_after=12,
    )  # fmt: skip
    assert stopped is None
    clock.now += 10_000.0  # the rerun starts later: the pause is no part of the run
    resumed = run_stream(get_method(method, config.model), data, config, checkpoint=ckpt, progress=False)
    assert resumed.metrics == straight.metrics
    assert resumed.resumed_from_slices == [10]  # the last checkpoint before the stop
    assert resumed.wall_s == straight.wall_s  # both parts, not only the resumed one
    entry = resumed.card_entry(method)
    assert entry["resumed_from_slices"] == [10] and entry["wall_s"] == round(straight.wall_s, 2)
    assert "wall_s_partial" not in entry
    # a checkpoint of an older shopml, without the time spent before it: said in the card
    run_stream(
        get_method(method, config.model), data, config, checkpoint=ckpt, progress=False,
        stop_after=12,
    )  # fmt: skip
    (saved,) = ckpt.iterdir()
    state = torch.load(saved, weights_only=False)
    for key in ("wall_s", "resumed_from_slices", "wall_s_partial"):
        del state[key]
    torch.save(state, saved)
    older = run_stream(get_method(method, config.model), data, config, checkpoint=ckpt, progress=False)
    assert older.metrics == straight.metrics and older.wall_s < straight.wall_s
    assert older.card_entry(method)["wall_s_partial"] is True


def test_progress_in_a_log_file_is_plain_lines(small_world, capsys):
    _, config, data = small_world
    result = run_stream(get_method("pretrained", config.model), data, config, progress=True)
    assert result is not None
    log = capsys.readouterr().err  # stderr is no terminal here, as under `> run.log 2>&1`
    assert "\r" not in log
    assert log.splitlines()[-1].startswith("pretrained: 23/23 slices (100%)")


def test_a_checkpoint_never_resumes_a_run_on_other_data(small_world, tmp_path):
    _, config, data = small_world
    method = "fnw"
    stopped = run_stream(
        get_method(method, config.model), data, config, checkpoint=tmp_path,
        progress=False, stop_after=12,
    )  # fmt: skip
    assert stopped is None
    other = StreamData(
        data.features[::-1].copy(), data.cardinalities, data.timeline, data.split, data.windows
    )
    assert other.fingerprint() != data.fingerprint()
    fresh = run_stream(get_method(method, config.model), other, config, progress=False)
    from_checkpoint = run_stream(
        get_method(method, config.model), other, config, checkpoint=tmp_path, progress=False
    )
    assert from_checkpoint.metrics == fresh.metrics  # started anew, not from data's checkpoint
    (kept,) = tmp_path.iterdir()  # a resumed run would have finished and removed it
    run_stream(
        get_method(method, config.model), data, config, checkpoint=tmp_path,
        progress=False, data_id="other labels",
    )  # fmt: skip
    assert list(tmp_path.iterdir()) == [kept]
    run_stream(get_method(method, config.model), data, config, checkpoint=tmp_path, progress=False)
    assert not any(tmp_path.iterdir())  # the same data resumes it


def test_evaluation_is_on_the_next_slice_with_complete_labels(small_world):
    world, config, data = small_world
    result = run_stream(get_method("pretrained", config.model), data, config, progress=False)
    # every streaming click except those of slice 0 is evaluated exactly once
    expected = np.concatenate(data.slice_click_rows()[1:])
    np.testing.assert_array_equal(np.sort(result.rows), np.sort(expected))
    truth = world.truth.column("p_net").to_numpy()
    bayes = stream_metrics(
        data.timeline, result.rows, result.slice_id, truth[result.rows], truth[result.rows]
    )
    assert (
        bayes["netcvr_auc"] > result.metrics["netcvr_auc"] - 0.02
    )  # the truth ranks at least about as well


def test_run_refuses_a_method_built_with_other_network_sizes(small_world):
    """The method builds the network, the run trains it: sizes must agree, not be dropped."""
    _, config, data = small_world
    with pytest.raises(ValueError, match=r"hidden=\[128, 64\].*hidden=\[16\]"):
        run_stream(get_method("oracle"), data, config, progress=False)


def test_hide_fields_zeroes_the_named_fields_in_features_and_tensor():
    world = simulate("cascade", 5_000, 2)
    config = RunConfig()
    data = StreamData.from_log(world.log, config.windows, config.stream)
    names = [f.name for f in world.log.spec.by_kind("categorical")]
    before = data.features.copy()
    data.hide_fields(names, ["c_0", "u_1"])
    hidden = [names.index("c_0"), names.index("u_1")]
    assert (data.features[:, hidden] == 0).all() and (data.x[:, hidden] == 0).all()
    kept = [j for j in range(len(names)) if j not in hidden]
    np.testing.assert_array_equal(data.features[:, kept], before[:, kept])
    np.testing.assert_array_equal(data.x.numpy(), data.features)
    with pytest.raises(ValueError, match="'nope' is not a categorical field"):
        data.hide_fields(names, ["nope"])


def test_pre_training_shows_its_progress_in_a_log_file(small_world, capsys, monkeypatch):
    """A long pre-training part prints its own progress lines (here every batch); a quiet run
    prints none."""
    import shopml.progress

    _, config, data = small_world
    run_stream(get_method("pretrained", config.model), data, config, progress=False)
    assert "pre-training" not in capsys.readouterr().err
    monkeypatch.setattr(shopml.progress, "INTERVAL_S", 0.0)
    run_stream(get_method("pretrained", config.model), data, config, progress=True)
    lines = [line for line in capsys.readouterr().err.splitlines() if "pre-training" in line]
    epochs = config.model.pretrain_epochs
    assert lines and lines[-1].startswith(f"pretrained pre-training ({epochs} epoch(s)): ")
    assert "\r" not in "".join(lines)
