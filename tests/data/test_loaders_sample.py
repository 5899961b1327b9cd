"""Release files read as a seeded sample of their rows (`load(..., sample=F)`): what the
sample says about the file matches what the whole file says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shopml.data import DatasetError, load

CASCADE_HEADER = ["click_time", "pay_time", "refund_time", *[f"f{i}" for i in range(22)]]


def _cascade(path: Path, clicks: list[str], header: bool) -> Path:
    rows = [CASCADE_HEADER] if header else []
    rows += [[c, "-1", "-1", *["1"] * 22] for c in clicks]
    path.write_text("".join("\t".join(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("seed", range(6))
def test_a_sampled_cascade_file_with_a_header_line_counts_and_names_its_data_rows(
    tmp_path, seed
):
    """The header line is no click: whether or not the draw would have kept it, the sample's
    count is of the file's data rows and a bad row is named by its data row and file line."""
    good = _cascade(tmp_path / "good.txt", [str(100 + i) for i in range(200)], header=True)
    log = load("cascade", good, sample=0.5, sample_seed=seed)
    notes = " ".join(log.spec.meta["load_report"]["notes"])
    assert f"{log.n_clicks:,} of 200" in notes
    assert log.spec.meta["load_report"]["rows_read"] == log.n_clicks
    bad = _cascade(tmp_path / "bad.txt", [f"x{i}" for i in range(200)], header=True)
    with pytest.raises(DatasetError) as error:
        load("cascade", bad, sample=0.5, sample_seed=seed)
    found = re.search(r"data row (\d+) \(line (\d+)\), column 'click_time': not a number: 'x(\d+)'",
                      str(error.value))  # fmt: skip
    assert found, str(error.value)
    data_row, line, value = (int(g) for g in found.groups())
    assert data_row == value + 1 and line == data_row + 1  # x0 is data row 1, on line 2


def test_a_cascade_log_with_only_user_ids_says_so(tmp_path):
    path = _cascade(tmp_path / "ids.txt", [str(100 + i) for i in range(20)], header=False)
    log = load("cascade", path, user_field="feature_3")
    assert log.spec.meta["ids"] == "user_id from 'feature_3'; no item ids: item_id = 0"
    assert log.spec.meta["ids_known"] == {"user": True, "item": False}


def test_two_shares_of_one_file_never_share_a_card_name():
    from shopml.report.cards import subsampled

    names = {subsampled({"name": "f"}, share, 10)["name"] for share in (0.1, 0.1000001, 0.10000001)}
    assert len(names) == 3 and "f-subsample0.1" in names
