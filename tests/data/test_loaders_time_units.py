"""Click times of the wrong kind in CASCADE, TRACE and the Criteo conversion log: a stray
value is named by its file row with advice that fits the loader, and millisecond times are
called milliseconds (the formats want seconds), not a wrong origin or a mix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopml.data import DatasetError
from shopml.data.loaders.conversion import cascade, criteo_conversion, trace

UNIX = 1_746_100_000  # 2025-05-01, in seconds
TRACE_HEADER = [f"feature_{i}" for i in range(22)] + ["click_time", "pay_time", "dirpay_amt"]


def _criteo(path: Path, clicks: list[str]) -> Path:
    cells = ["1", "", "3", "4", "5", "6", "7", "8", *[f"c{i}" for i in range(9)]]
    path.write_text("".join("\t".join([c, "", *cells]) + "\n" for c in clicks))
    return path


def _cascade(path: Path, clicks: list[str]) -> Path:
    path.write_text("".join("\t".join([c, "-1", "-1", *["0"] * 22]) + "\n" for c in clicks))
    return path


def _trace(path: Path, clicks: list[str]) -> Path:
    rows = [TRACE_HEADER] + [[*["0"] * 22, c, "[]", "[]"] for c in clicks]
    path.write_text("".join("\t".join(r) + "\n" for r in rows))
    return path


WRITERS = {"criteo_conversion": _criteo, "cascade": _cascade, "trace": _trace}
LOADERS = {"criteo_conversion": criteo_conversion, "cascade": cascade, "trace": trace}


def test_a_stray_unix_time_among_relative_seconds_is_named_by_its_file_row(
    tmp_path: Path,
) -> None:
    # data row 1 has no click time (rejected), so the stray one is the 3rd kept row
    path = _criteo(tmp_path / "data.txt", ["", "100", "200", str(UNIX), "400", "500"])
    with pytest.raises(DatasetError) as info:
        criteo_conversion(path)
    message = str(info.value)
    assert (
        "click times mix relative seconds (4 row(s) < 946684800) and unix timestamps (1 row(s))"
        in message
    )
    assert f"the unix timestamps (the fewer) start at {path}: data row 4 (line 4): {UNIX}." in message
    assert "Chapelle's data.txt holds seconds since the log's start" in message
    assert "simulate" not in message and "cascade" not in message


def test_a_stray_relative_time_among_unix_seconds_is_named_too(tmp_path: Path) -> None:
    clicks = [str(UNIX + 10 * i) for i in range(6)]
    clicks[4] = "35"
    path = _trace(tmp_path / "trace.txt", clicks)
    with pytest.raises(
        DatasetError,
        match=r"the relative seconds \(the fewer\) start at .*trace\.txt: data row 5 \(line 6\): 35\. "
        r"A TRACE file holds one kind",
    ):
        trace(path)


def test_cascade_processed_and_raw_layouts_in_one_directory_are_named_by_file(
    tmp_path: Path,
) -> None:
    _cascade(tmp_path / "a.txt", ["100", "200", "300"])
    _cascade(tmp_path / "b.txt", [str(UNIX), str(UNIX + 5)])
    with pytest.raises(DatasetError) as info:
        cascade(tmp_path)
    message = str(info.value)
    assert (
        "the files read hold click times of two kinds: relative seconds (3 row(s) < 946684800) "
        f"in {tmp_path / 'a.txt'}, unix timestamps (2 row(s)) in {tmp_path / 'b.txt'}, so they "
        "are not parts of one release." in message
    )
    assert "A directory holding both the processed and the raw layout" in message


def test_a_file_mixing_kinds_in_a_directory_is_named_by_its_row(tmp_path: Path) -> None:
    _cascade(tmp_path / "a.txt", ["100", "200", "300"])
    _cascade(tmp_path / "b.txt", ["400", str(UNIX), "500"])
    with pytest.raises(
        DatasetError,
        match=r"the unix timestamps \(the fewer\) start at .*b\.txt: data row 2 \(line 2\): ",
    ):
        cascade(tmp_path)


def test_as_many_stray_rows_as_others_are_not_called_the_fewer(tmp_path: Path) -> None:
    path = _cascade(tmp_path / "data.txt", ["100", str(UNIX), "300", str(UNIX + 5)])
    with pytest.raises(DatasetError) as info:
        cascade(path)
    message = str(info.value)
    assert "the fewer" not in message
    assert f"the relative seconds (as many as the others) start at {path}: data row 1" in message


@pytest.mark.parametrize("name", ["criteo_conversion", "cascade", "trace"])
def test_unix_milliseconds_are_called_milliseconds(name: str, tmp_path: Path) -> None:
    clicks = [str((UNIX + 60 * i) * 1000) for i in range(5)]
    path = WRITERS[name](tmp_path / "data.txt", clicks)
    with pytest.raises(DatasetError) as info:
        LOADERS[name](path)
    message = str(info.value)
    assert "5 click time(s) outside 2000..2100, first" in message
    assert "data row 1" in message
    assert "as unix milliseconds falls in 2000..2100" in message
    assert "look like milliseconds; the format wants seconds (divide them by 1000)" in message
    assert "origin" not in message and "shifting" not in message


@pytest.mark.parametrize("name", ["criteo_conversion", "cascade", "trace"])
def test_relative_milliseconds_across_2000_are_called_milliseconds(
    name: str, tmp_path: Path
) -> None:
    # 25 days in milliseconds since the start: 0 .. 2.16e9, read as seconds they straddle 2000
    clicks = [str(int(v)) for v in np.linspace(0, 25 * 86_400_000, 40)]
    path = WRITERS[name](tmp_path / "data.txt", clicks)
    with pytest.raises(DatasetError) as info:
        LOADERS[name](path)
    message = str(info.value)
    assert "without a break across 946684800" in message
    assert "as milliseconds since the start they span 25.0 days" in message
    assert "the times look like milliseconds; the format wants seconds" in message
    assert "mix relative seconds" not in message


@pytest.mark.parametrize("name", ["criteo_conversion", "cascade", "trace"])
def test_relative_milliseconds_below_2000_are_not_read_as_years_of_seconds(
    name: str, tmp_path: Path
) -> None:
    # 9 days in milliseconds: all below 2000-01-01 as seconds, so once shifted as 28 years
    clicks = [str(int(v)) for v in np.linspace(0, 9 * 86_400_000, 40)]
    path = WRITERS[name](tmp_path / "data.txt", clicks)
    with pytest.raises(
        DatasetError,
        match=r"relative click times reach 777600000 s, 24\.6 years after the start .*"
        r"first .*data row \d+ .*no release spans that long: if the times are milliseconds, "
        r"the format wants seconds",
    ):
        LOADERS[name](path)


def test_relative_seconds_still_load_and_an_impossible_origin_is_still_named(
    tmp_path: Path,
) -> None:
    path = _criteo(tmp_path / "data.txt", ["100", "200", str(60 * 86_400)])
    log = criteo_conversion(path)
    assert log.column("ts").tolist()[:2] == [1_388_534_400 + 100, 1_388_534_400 + 200]
    with pytest.raises(
        DatasetError,
        match=r"3 click time\(s\) outside 2000..2100, first .*data row 1 \(line 1\): 100 after "
        r"shifting relative times by 0; pass the right origin",
    ):
        criteo_conversion(path, origin=0)
    path = _cascade(tmp_path / "c.txt", [str(UNIX), str(UNIX + 1), "32503680000"])
    with pytest.raises(DatasetError) as info:
        cascade(path)
    # a year-3000 unix time: neither milliseconds nor an origin problem, just named
    assert str(info.value).endswith(
        f"1 click time(s) outside 2000..2100, first {path}: data row 3 (line 3): 32503680000"
    )


def test_a_trace_file_given_as_cascade_and_back_is_named(tmp_path):
    from shopml.data import DatasetError, load
    from shopml.data.simulate import simulate, write

    trace_file = write(simulate("trace", 300, seed=0), tmp_path / "t", "trace")[0]
    with pytest.raises(DatasetError, match="so this is a TRACE file; `shopml bench gmv --data`"):
        load("cascade", trace_file)
    for layout in write(simulate("cascade", 300, seed=0), tmp_path / "c", "cascade"):
        with pytest.raises(DatasetError, match="25 columns are the CASCADE layout, which `shopml"):
            load("trace", layout)  # the processed and the raw layout


def test_a_criteo_file_given_as_cascade_and_back_is_named(tmp_path):
    from shopml.data import DatasetError, load
    from shopml.data.simulate import simulate, write

    world = simulate("cascade", 300, seed=0)
    criteo_file = write(world, tmp_path / "k", "criteo")[0]
    cascade_file = write(world, tmp_path / "c", "cascade")[0]
    with pytest.raises(DatasetError, match="found 19: 19 columns are the Criteo conversion layout"):
        load("cascade", criteo_file)
    with pytest.raises(DatasetError, match="found 25: 25 columns are the CASCADE layout"):
        load("criteo_conversion", cascade_file)
    with pytest.raises(DatasetError, match=r"not TRACE's header .*; 19 columns are the Criteo"):
        load("trace", criteo_file)


def test_a_file_where_an_event_log_directory_goes_is_named(tmp_path):
    from shopml.data import EventLog, EventLogError
    from shopml.data.validate import validate

    file = tmp_path / "processed_data_expand.txt"
    file.write_text("1\t2\n")
    with pytest.raises(EventLogError, match="a file, not an event-log directory"):
        EventLog.open(file)
    messages = [p.message for p in validate(file).problems]
    assert any("a file, not an event-log directory" in m for m in messages)
