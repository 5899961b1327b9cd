import pytest

from shopml.console import FILE_WIDTH, make_console


def test_off_a_terminal_the_console_is_wide_enough_for_a_leaderboard(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    console = make_console()
    assert not console.is_terminal  # pytest captures the output
    assert console.width == FILE_WIDTH
    with console.capture() as captured:
        console.print("x" * 150)
    assert captured.get() == "x" * 150 + "\n"  # one line, not wrapped at rich's 80


@pytest.mark.parametrize("stderr", [False, True])
def test_columns_set_by_the_user_wins(monkeypatch, stderr):
    monkeypatch.setenv("COLUMNS", "100")
    assert make_console(stderr=stderr).width == 100
