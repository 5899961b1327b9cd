"""Progress bars: tqdm's on a terminal, plain lines at a low rate in a log file."""

import io

from shopml.progress import LineProgress, progress_bar


class _Ticks:
    """A clock that moves ``step`` seconds at every reading (no real time in the test)."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_progress_is_plain_lines_at_a_low_rate():
    log = io.StringIO()
    bar = progress_bar(range(10), desc="fnw", unit="slice", file=log, interval=30, clock=_Ticks(10))
    assert isinstance(bar, LineProgress)
    assert list(bar) == list(range(10))
    text = log.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    # a reading at the start, one per item: every third item is 30 s on, plus the end
    assert len(lines) == 4
    assert lines[0].startswith("fnw: 3/10 slice (30%), 0:30 elapsed, ~1:10 left")
    assert lines[-1] == "fnw: 10/10 slice (100%), 1:50 elapsed"


def test_off_a_terminal_a_quiet_run_prints_only_its_last_line():
    log = io.StringIO()
    with progress_bar(total=500, desc="embedding texts", unit="text", file=log) as bar:
        for _ in range(5):
            bar.update(100)
        bar.set_postfix(val_loss="0.123")
    assert log.getvalue().count("\n") == 1
    assert log.getvalue().startswith("embedding texts: 500/500 text (100%), 0:00 elapsed")
    assert log.getvalue().endswith("[val_loss=0.123]\n")


def test_off_a_terminal_the_end_is_not_printed_twice():
    log = io.StringIO()
    bar = progress_bar(total=4, desc="image features", unit="img", file=log, clock=_Ticks(20))
    for _ in range(2):
        bar.update(2)  # 40 s on: the last update prints the 100% line itself
    bar.close()
    lines = log.getvalue().splitlines()
    assert lines == ["image features: 4/4 img (100%), 0:40 elapsed"]


def test_off_a_terminal_a_short_step_can_leave_no_line():
    quick, slow = io.StringIO(), io.StringIO()
    list(progress_bar(range(5), desc="epochs", file=quick, silent_if_short=True, clock=_Ticks(1)))
    list(progress_bar(range(5), desc="epochs", file=slow, silent_if_short=True, clock=_Ticks(20)))
    assert quick.getvalue() == ""
    assert slow.getvalue().splitlines()[-1] == "epochs: 5/5 it (100%), 2:00 elapsed"


def test_a_resumed_run_counts_from_where_it_resumed():
    log = io.StringIO()
    bar = progress_bar(range(8, 10), total=10, initial=8, file=log, clock=_Ticks(1))
    assert list(bar) == [8, 9]
    assert log.getvalue().startswith("10/10 it (100%)")


def test_on_a_terminal_it_is_tqdms_bar():
    from tqdm import tqdm

    screen = _Terminal()
    bar = progress_bar(range(3), desc="fnw", file=screen)
    assert isinstance(bar, tqdm)
    assert list(bar) == [0, 1, 2]
    assert "\r" in screen.getvalue()  # redrawn in place, as before
    assert isinstance(progress_bar(range(3), disable=True, file=io.StringIO()), tqdm)
