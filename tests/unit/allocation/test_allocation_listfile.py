"""List files: round trip, and every validation rule of an uploaded list names the row and the rule."""

import hashlib

import pytest

from trialdesk.allocation import AllocationScheme, Factor, generate_list, parse_list, read_list, write_list
from trialdesk.errors import UserError

SCHEME = AllocationScheme(
    ("IMR", "TAU"),
    (1, 1),
    (Factor("site", ("BAL", "FRB")), Factor("diagnosis", ("schizophrenia", "bipolar"))),
)
S1 = "site=BAL|diagnosis=schizophrenia"


def rehash(text):
    """Recompute the sha256 line after editing the rows (what a careful forger would do)."""
    lines = text.split("\n")
    body_start = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    body = "\n".join(lines[body_start:])
    digest = hashlib.sha256(body.encode()).hexdigest()
    return (
        "\n".join(
            f"# sha256: {digest}" if line.startswith("# sha256:") else line for line in lines[:body_start]
        )
        + "\n"
        + body
    )


def small_list_text(seed=11):
    return generate_list(SCHEME, seed=seed, per_stratum=6).text()


def row_line(text, stratum, sequence):
    """1-based line number of a stratum's slot in the file."""
    for number, line in enumerate(text.split("\n"), start=1):
        if line.startswith(f"{stratum},{sequence},"):
            return number
    raise AssertionError("row not found")


def test_write_then_read_round_trips(tmp_path):
    original = generate_list(SCHEME, seed=3, per_stratum=10)
    path = write_list(original, tmp_path / "list.csv")
    again = read_list(path, SCHEME)
    assert again.slots == original.slots
    assert again.info.seed == 3
    assert again.info.algorithm == original.info.algorithm
    assert again.source_sha256 == original.sha256


def test_hash_is_the_sha256_of_the_csv_part(tmp_path):
    original = generate_list(SCHEME, seed=3, per_stratum=4)
    path = write_list(original, tmp_path / "list.csv")
    csv_part = "".join(
        line for line in path.read_text().splitlines(keepends=True) if not line.startswith("#")
    )
    assert hashlib.sha256(csv_part.encode()).hexdigest() == original.sha256


def test_windows_line_endings_and_byte_order_mark_are_accepted(tmp_path):
    text = small_list_text()
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert read_list(path, SCHEME).slots == parse_list(text, SCHEME).slots


def test_unreadable_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot read allocation list"):
        read_list(tmp_path / "missing.csv", SCHEME)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(UserError, match="cannot read allocation list"):
        read_list(binary, SCHEME)


def test_hash_mismatch_when_a_row_is_edited():
    text = small_list_text()
    line = row_line(text, S1, 1)
    lines = text.split("\n")
    lines[line - 1] = lines[line - 1].replace("IMR", "TMP").replace("TAU", "IMR").replace("TMP", "TAU")
    with pytest.raises(UserError, match="hash mismatch: the file records sha256"):
        parse_list("\n".join(lines), SCHEME)


def test_missing_hash_line_is_refused_unless_allowed():
    text = "\n".join(line for line in small_list_text().split("\n") if not line.startswith("# sha256"))
    with pytest.raises(UserError, match="no '# sha256: <hex>' line"):
        parse_list(text, SCHEME)
    assert parse_list(text, SCHEME, require_hash=False).source_sha256 is None


def test_wrong_column_is_named():
    text = rehash(small_list_text().replace("block_size,arm", "block_size,treatment"))
    header = 1 + sum(line.startswith("#") for line in text.split("\n"))
    assert header == 11  # ten metadata lines above it
    with pytest.raises(
        UserError, match=rf"row {header}: wrong columns .*missing \['arm'\], unknown \['treatment'\]"
    ):
        parse_list(text, SCHEME)


def test_columns_in_another_order_are_accepted():
    text = small_list_text()
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    swapped = [",".join([f.split(",")[4], *f.split(",")[:4]]) if f else f for f in lines[start:]]
    again = parse_list(rehash("\n".join(lines[:start] + swapped)), SCHEME)
    assert again.slots == parse_list(text, SCHEME).slots


def test_unknown_arm_is_named_with_its_row():
    text = small_list_text()
    line = row_line(text, S1, 2)
    lines = text.split("\n")
    lines[line - 1] = lines[line - 1].rsplit(",", 1)[0] + ",PLACEBO"
    with pytest.raises(UserError, match=rf"row {line}: unknown arm 'PLACEBO' \(known: IMR, TAU\)"):
        parse_list(rehash("\n".join(lines)), SCHEME)


def test_unknown_stratum_level_is_named_with_its_row():
    text = small_list_text()
    line = row_line(text, "site=FRB|diagnosis=bipolar", 1)
    lines = text.split("\n")
    lines[line - 1] = lines[line - 1].replace("site=FRB", "site=AMA")
    with pytest.raises(UserError, match=rf"row {line}: .*unknown level 'AMA' of factor 'site'"):
        parse_list(rehash("\n".join(lines)), SCHEME)


def test_non_consecutive_sequence_numbers():
    text = small_list_text()
    line = row_line(text, S1, 3)
    lines = text.split("\n")
    lines[line - 1] = lines[line - 1].replace(f"{S1},3,", f"{S1},4,", 1)
    with pytest.raises(UserError, match=rf"row {line}: sequence 4 in stratum {S1}, expected 3"):
        parse_list(rehash("\n".join(lines)), SCHEME)


def test_incomplete_block_is_named():
    # Drop the last slot of the last stratum: its last block becomes incomplete.
    text = small_list_text().rstrip("\n")
    shorter = text.rsplit("\n", 1)[0] + "\n"
    with pytest.raises(
        UserError, match=r"rows \d+-\d+: block \d+ of stratum site=FRB\|diagnosis=bipolar is incomplete"
    ):
        parse_list(rehash(shorter), SCHEME)


def test_unbalanced_block_is_named():
    body = "stratum,sequence,block,block_size,arm\n" + "".join(
        f"{s},1,1,2,IMR\n{s},2,1,2,{'IMR' if s == S1 else 'TAU'}\n" for s in SCHEME.strata()
    )
    with pytest.raises(UserError, match=rf"rows 2-3: block 1 of stratum {S1} is unbalanced: IMR=2, TAU=0"):
        parse_list(body, SCHEME, require_hash=False)


def test_block_size_not_in_the_protocol_is_refused():
    body = "stratum,sequence,block,block_size,arm\n" + "".join(
        f"{s},{i},1,8,{'IMR' if i % 2 else 'TAU'}\n" for s in SCHEME.strata() for i in range(1, 9)
    )
    with pytest.raises(UserError, match="row 2: block_size 8 is not one of 2, 4, 6"):
        parse_list(body, SCHEME, require_hash=False)


def test_skipped_block_number_is_refused():
    body = "stratum,sequence,block,block_size,arm\n" + "".join(
        f"{s},1,1,2,IMR\n{s},2,1,2,TAU\n{s},3,3,2,TAU\n{s},4,3,2,IMR\n" for s in SCHEME.strata()
    )
    with pytest.raises(UserError, match=f"row 4: block 3 in stratum {S1}, expected 2"):
        parse_list(body, SCHEME, require_hash=False)


def test_missing_stratum_is_refused():
    body = "stratum,sequence,block,block_size,arm\n" + f"{S1},1,1,2,IMR\n{S1},2,1,2,TAU\n"
    with pytest.raises(UserError, match=r"stratum site=BAL\|diagnosis=bipolar has no slots"):
        parse_list(body, SCHEME, require_hash=False)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (f"{S1},x,1,2,IMR", "row 2: sequence 'x' is not a positive whole number"),
        (f"{S1},1,1,2", "row 2: 4 fields, the header has 5"),
        (f"{S1},1,0,2,IMR", "row 2: block '0' is not a positive whole number"),
    ],
)
def test_malformed_rows(row, message):
    with pytest.raises(UserError, match=message):
        parse_list("stratum,sequence,block,block_size,arm\n" + row + "\n", SCHEME, require_hash=False)


def test_empty_and_header_only_lists():
    with pytest.raises(UserError, match="no CSV header"):
        parse_list("# sha256: 00\n", SCHEME)
    with pytest.raises(UserError, match="header but no rows"):
        parse_list("stratum,sequence,block,block_size,arm\n", SCHEME, require_hash=False)


def test_other_format_version_is_refused():
    text = small_list_text().replace("trialdesk-allocation-list/1", "trialdesk-allocation-list/9")
    with pytest.raises(UserError, match="format 'trialdesk-allocation-list/9'"):
        parse_list(text, SCHEME)
