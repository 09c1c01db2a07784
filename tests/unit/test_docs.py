"""Docs that cannot drift: generated references match the committed pages, every command is documented."""

from pathlib import Path

import pytest

from trialdesk.cli.reference import commands
from trialdesk.docs import generators

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("page", sorted(generators()))
def test_reference_page_is_current(page):
    committed = (ROOT / "docs" / "reference" / page).read_text()
    assert committed == generators()[page](), f"docs/reference/{page} is stale: run `make docs`"


def test_every_command_has_help():
    undocumented = [name for name, command in commands() if not (command.help or "").strip()]
    assert not undocumented, f"commands without help: {undocumented}"


def test_every_option_has_help():
    missing = [f"{name} {opt.opts[0]}" for name, command in commands() for opt in command.params
               if getattr(opt, "opts", None) and opt.opts[0].startswith("--")
               and not getattr(opt, "help", "x")]
    assert not missing, f"options without help: {missing}"


def test_readme_quick_start_is_exactly_two_commands():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in block.strip().splitlines()] == [["make", "demo"], ["make", "test"]]
