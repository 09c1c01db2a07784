"""trialdesk demo: bad input is one line on stderr and exit 2, before anything is written."""

from __future__ import annotations

import pandas as pd
import pytest

from trialdesk.cli import main
from trialdesk.demo.allocation import list_size, per_stratum
from trialdesk.errors import UserError
from trialdesk.protocol import load_protocol


@pytest.mark.parametrize(("args", "message"), [
    (["--participants", "0"], "error: --participants must be a positive number, got 0"),
    (["--participants", "-3"], "error: --participants must be a positive number, got -3"),
    (["--participants", "5000"], "error: --participants 5000 is too many: the demo runs at most 1000"),
])  # fmt: skip
def test_bad_participant_numbers_are_refused(args, message, capsys):
    assert main(["demo", *args]) == 2
    err = capsys.readouterr().err
    assert err.strip() == message


def test_an_unwritable_out_directory_is_refused(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert main(["demo", "--out", str(blocker / "report")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --out {blocker / 'report'}: cannot write there")
    assert len(err.strip().splitlines()) == 1


def test_more_people_in_a_stratum_than_the_list_holds_is_refused():
    protocol = load_protocol()
    slots = per_stratum(protocol)
    crowded = pd.DataFrame({"site": ["BAL"] * (slots + 1), "diagnosis": ["schizophrenia"] * (slots + 1)})
    expected = rf"stratum .*schizophrenia.* would need {slots + 1} slots and the list has {slots} per stratum"
    with pytest.raises(UserError, match=expected):
        list_size(protocol, crowded)
    fits = pd.DataFrame({"site": ["BAL", "FRB"] * slots, "diagnosis": ["bipolar"] * (2 * slots)})
    assert sorted(list_size(protocol, fits).values()) == [slots, slots]
