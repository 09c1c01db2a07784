"""``trialdesk allocation generate|qa`` through the real entry point: output, JSON, exit 2 on bad input."""

import hashlib
import json

import pytest

from trialdesk.allocation import parse_list, scheme_from_protocol
from trialdesk.cli import main
from trialdesk.protocol import EMBEDDED_PROTOCOL, load_protocol


def run(capsys, *argv):
    status = main(["allocation", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def list_file(tmp_path, capsys):
    path = tmp_path / "list.csv"
    status, _, _ = run(capsys, "generate", "--seed", "20110228", "--per-stratum", "60", "--out", str(path))
    assert status == 0
    return path


def test_generate_prints_the_list_on_stdout(capsys):
    status, out, err = run(capsys, "generate", "--seed", "5", "--per-stratum", "4")
    assert status == 0, err
    scheme = scheme_from_protocol(load_protocol())
    parsed = parse_list(out, scheme)
    assert parsed.info.seed == 5
    assert set(parsed.strata()) == set(scheme.strata())
    # the same command again prints the same bytes
    assert run(capsys, "generate", "--seed", "5", "--per-stratum", "4")[1] == out


def test_generate_to_a_file_with_json_summary(tmp_path, capsys):
    path = tmp_path / "imr.csv"
    status, out, _ = run(
        capsys, "generate", "--seed", "9", "--per-stratum", "10", "--out", str(path), "--json"
    )
    assert status == 0
    document = json.loads(out)
    parsed = parse_list(path.read_text(), scheme_from_protocol(load_protocol()))
    assert document["sha256"] == parsed.source_sha256
    assert document["seed"] == 9
    assert document["algorithm"] == "stratified_permuted_blocks"
    assert document["strata"][0]["stratum"] == "site=BAL|diagnosis=schizophrenia"
    assert all(s["slots"] >= 10 for s in document["strata"])
    assert "slots" not in document  # the list itself is in the file


def test_generate_summary_table(tmp_path, capsys):
    status, out, _ = run(
        capsys, "generate", "--seed", "9", "--per-stratum", "10", "--out", str(tmp_path / "l.csv")
    )
    assert status == 0
    assert "site=FRB|diagnosis=bipolar" in out
    assert "sha256 " in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", "1", "--per-stratum", "0"], "--per-stratum must be a positive whole number, got '0'"),
        (["--seed", "1", "--per-stratum", "ten"], "--per-stratum must be a positive whole number"),
        (["--seed", "-1", "--per-stratum", "4"], "--seed must be a whole number >= 0, got '-1'"),
    ],
)
def test_generate_bad_numbers(capsys, argv, message):
    status, out, err = run(capsys, "generate", *argv)
    assert status == 2
    assert message in one_error_line(err)
    assert out == ""


def test_generate_block_size_not_a_multiple_of_the_ratio_sum(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(EMBEDDED_PROTOCOL.read_text().replace("block_sizes = [2, 4, 6]", "block_sizes = [3, 4]"))
    status, _, err = run(capsys, "generate", "--seed", "1", "--per-stratum", "4", "--protocol", str(bad))
    assert status == 2
    assert "block size 3 is not a positive multiple of the ratio total 2" in one_error_line(err)


def test_generate_refuses_a_minimisation_protocol(tmp_path, capsys):
    path = tmp_path / "min.toml"
    path.write_text(
        EMBEDDED_PROTOCOL.read_text().replace(
            'method = "permuted_blocks"', 'method = "minimisation"\nminimisation = { probability = 0.8 }'
        )
    )
    status, _, err = run(capsys, "generate", "--seed", "1", "--per-stratum", "4", "--protocol", str(path))
    assert status == 2
    assert "randomisation method is minimisation" in one_error_line(err)


def test_unwritable_output_is_one_line(tmp_path, capsys):
    target = tmp_path / "no-such-dir" / "list.csv"
    status, _, err = run(capsys, "generate", "--seed", "1", "--per-stratum", "4", "--out", str(target))
    assert status == 2
    assert "cannot write allocation list" in one_error_line(err)


def test_qa_table(list_file, capsys):
    status, out, err = run(capsys, "qa", str(list_file), "--n-sims", "20")
    assert status == 0, err
    assert "Balance and predictability" in out
    assert "regenerates from its seed: yes" in out
    for method in ("list", "blocks", "minimisation"):
        assert method in out
    assert "0.708" in out  # the Blackwell-Hodges reference for fixed blocks of 4
    assert "another version of the protocol" not in out


def test_qa_warns_about_a_list_made_under_another_protocol(list_file, tmp_path, capsys):
    other = tmp_path / "other.toml"
    other.write_text(
        EMBEDDED_PROTOCOL.read_text().replace("target_participants = 200", "target_participants = 210")
    )
    status, out, err = run(capsys, "qa", str(list_file), "--n-sims", "5", "--protocol", str(other))
    assert status == 0, err
    assert "warning: the list was made under another version of the protocol" in out
    status, out, _ = run(capsys, "qa", str(list_file), "--n-sims", "5", "--protocol", str(other), "--json")
    assert json.loads(out)["protocol_matches"] is False


def test_qa_json_with_uneven_recruitment(list_file, capsys):
    status, out, _ = run(
        capsys, "qa", str(list_file), "--n-sims", "20", "--seed", "3", "--participants", "100", "--json",
        "--method", "list", "--weight", "site=BAL|diagnosis=schizophrenia=3", "--weight",
        "site=FRB|diagnosis=bipolar=1",
    )  # fmt: skip
    assert status == 0
    report = json.loads(out)
    assert report["n_participants"] == 100
    assert [m["method"] for m in report["methods"]] == ["list"]
    shares = {s["stratum"]: s["probability"] for s in report["strata"]}
    assert shares["site=BAL|diagnosis=schizophrenia"] == pytest.approx(0.75)
    assert shares["site=BAL|diagnosis=bipolar"] == 0
    assert 0.5 < report["methods"][0]["predictability"]["mean"] < 0.75


def test_qa_warns_when_strata_run_out(tmp_path, capsys):
    path = tmp_path / "short.csv"
    run(capsys, "generate", "--seed", "1", "--per-stratum", "4", "--out", str(path))
    status, out, _ = run(capsys, "qa", str(path), "--n-sims", "5", "--method", "list")
    assert status == 0
    assert "warning: strata ran out of slots" in out


def test_qa_unreadable_csv(tmp_path, capsys):
    status, _, err = run(capsys, "qa", str(tmp_path / "missing.csv"))
    assert status == 2
    assert "cannot read allocation list" in one_error_line(err)


def rehash_file(path, edit):
    """Apply ``edit`` to the CSV lines and rewrite the sha256 line, as a careless editor's tool might."""
    lines = path.read_text().split("\n")
    start = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    body = "\n".join(edit(lines[start:]))
    digest = hashlib.sha256(body.encode()).hexdigest()
    meta = [f"# sha256: {digest}" if line.startswith("# sha256") else line for line in lines[:start]]
    path.write_text("\n".join(meta) + "\n" + body)
    return start + 1  # line number of the header


def test_qa_edited_list_fails_its_hash(list_file, capsys):
    text = list_file.read_text()
    first = text.index("site=BAL|diagnosis=schizophrenia,1,")
    end = text.index("\n", first)
    row = text[first:end]
    flipped = row[:-3] + ("TAU" if row.endswith("IMR") else "IMR")
    list_file.write_text(text[:first] + flipped + text[end:])
    status, _, err = run(capsys, "qa", str(list_file))
    assert status == 2
    assert "hash mismatch" in one_error_line(err)


def test_qa_wrong_column(list_file, capsys):
    header = rehash_file(list_file, lambda rows: [rows[0].replace("block_size", "size"), *rows[1:]])
    status, _, err = run(capsys, "qa", str(list_file))
    assert status == 2
    line = one_error_line(err)
    assert f"row {header}: wrong columns" in line
    assert "missing ['block_size'], unknown ['size']" in line


def test_qa_unknown_arm(list_file, capsys):
    def edit(rows):
        rows[3] = rows[3].rsplit(",", 1)[0] + ",PLACEBO"
        return rows

    header = rehash_file(list_file, edit)
    status, _, err = run(capsys, "qa", str(list_file))
    assert status == 2
    assert f"row {header + 3}: unknown arm 'PLACEBO' (known: IMR, TAU)" in one_error_line(err)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--n-sims", "0"], "--n-sims must be a positive whole number"),
        (["--participants", "-5"], "--participants must be a positive whole number"),
        (["--weight", "nonsense"], "--weight must be STRATUM=W"),
        (["--weight", "site=XYZ|diagnosis=bipolar=1"], "unknown strata"),
    ],
)
def test_qa_bad_options(list_file, capsys, argv, message):
    status, _, err = run(capsys, "qa", str(list_file), *argv)
    assert status == 2
    assert message in one_error_line(err)


def test_help_is_available(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0
    assert "generate" in out
    assert "qa" in out
