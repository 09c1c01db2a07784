"""``trialdesk protocol check|show|hash`` through the real entry point."""

from __future__ import annotations

import json

import pytest

from trialdesk.cli import main
from trialdesk.protocol import EMBEDDED_PROTOCOL, load_protocol


def run(capsys, *args):
    status = main(["protocol", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_check_embedded_prints_ok_and_hash(capsys):
    status, out, err = run(capsys, "check")
    assert status == 0
    assert out == f"ok {load_protocol().content_hash}\n"
    assert err == ""


def test_check_explicit_path(capsys, tmp_path):
    path = tmp_path / "copy.toml"
    path.write_text(EMBEDDED_PROTOCOL.read_text(encoding="utf-8"), encoding="utf-8")
    status, out, _ = run(capsys, "check", str(path))
    assert status == 0
    assert out.startswith("ok ")


def test_hash_prints_content_hash(capsys):
    status, out, _ = run(capsys, "hash")
    assert status == 0
    assert out.strip() == load_protocol().content_hash
    assert len(out.strip()) == 64
    status, out, _ = run(capsys, "hash", "--json")
    assert json.loads(out) == {"hash": load_protocol().content_hash}


def test_show_summary(capsys):
    status, out, _ = run(capsys, "show")
    assert status == 0
    assert "NCT01361698" in out
    assert "BAL Ballerup, FRB Frederiksberg" in out
    assert "primary   gaf_f_m9: gaf_f total at m9" in out
    assert "11. Getting your needs met in the mental health system" in out


def test_show_json_is_the_whole_protocol(capsys):
    status, out, _ = run(capsys, "show", "--json")
    assert status == 0
    data = json.loads(out)
    assert data == load_protocol().model_dump(mode="json")
    assert data["trial"]["registry_ids"][0]["id"] == "NCT01361698"
    assert [v["month"] for v in data["visits"]] == [0, 9, 21]
    assert [m["number"] for m in data["intervention"]["modules"]] == list(range(1, 12))
    assert [o["code"] for o in data["outcomes"] if o["role"] == "primary"] == ["gaf_f_m9"]


@pytest.mark.parametrize("command", ["check", "show", "hash"])
def test_missing_file_is_one_line_and_exit_2(capsys, tmp_path, command):
    status, out, err = run(capsys, command, str(tmp_path / "nope.toml"))
    assert status == 2
    assert out == ""
    assert err == f"error: protocol file not found: {tmp_path / 'nope.toml'}\n"


def test_directory_is_one_line_and_exit_2(capsys, tmp_path):
    status, _, err = run(capsys, "check", str(tmp_path))
    assert status == 2
    assert err == f"error: protocol path is a directory, not a file: {tmp_path}\n"


def test_broken_file_one_line_per_problem(capsys, tmp_path):
    text = EMBEDDED_PROTOCOL.read_text(encoding="utf-8")
    text = text.replace("ratio = 1", "ratio = 0", 1).replace(
        'short_title = "IMR trial"', 'short_titel = "IMR"'
    )
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    for command in ("check", "show", "hash"):
        status, out, err = run(capsys, command, str(path))
        assert status == 2
        assert out == ""
        lines = err.splitlines()
        assert len(lines) == 3
        assert lines[0] == "error: P003 trial.short_title: required field short_title is missing (line 10)"
        assert lines[1].startswith("error: P002 trial.short_titel: unknown key 'short_titel'")
        assert lines[2].startswith("error: P014 arms[0].ratio: ratio of arm IMR must be positive, got 0")
        assert "Traceback" not in err


def test_check_json_lists_problems(capsys, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(EMBEDDED_PROTOCOL.read_text(encoding="utf-8").replace("ratio = 1", "ratio = -1", 1))
    status, out, err = run(capsys, "check", "--json", str(path))
    assert status == 2
    report = json.loads(out)
    assert report["ok"] is False
    assert [(p["code"], p["path"]) for p in report["problems"]] == [("P014", "arms[0].ratio")]
    assert err == "error: protocol has 1 problem(s)\n"
    status, out, _ = run(capsys, "check", "--json")
    assert status == 0
    assert json.loads(out) == {"ok": True, "hash": load_protocol().content_hash, "problems": []}


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["show", "--help"], ["hash", "--help"]])
def test_help(capsys, args):
    status, out, _ = run(capsys, *args)
    assert status == 0
    assert "Usage: trialdesk protocol" in out
