"""docs/reference/instruments.md documents every instrument (staleness: tests/unit/test_docs.py)."""

from __future__ import annotations

from pathlib import Path

from trialdesk.instruments import get_library
from trialdesk.instruments.docs import main, render

PAGE = Path(__file__).resolve().parents[3] / "docs" / "reference" / "instruments.md"


def test_page_documents_every_instrument_item_and_range() -> None:
    text = render()
    for instrument in get_library():
        assert f"## {instrument.code}: " in text
        for item in instrument.items:
            assert f"| {item.code} | " in text
    assert (
        "| panss | PANSS | assessor | 30 | total 30–210, positive 7–49, negative 7–49, general 16–112 |"
        in text
    )
    assert "| baseline | Baseline | staff | 12 | none |" in text
    assert "| 9 | Alcohol-related injury | rating | 0, 2, 4 |  |" in text


def test_check_mode_reports_a_stale_page(tmp_path: Path) -> None:
    out = tmp_path / "instruments.md"
    assert main(["--out", str(out), "--check"]) == 1
    assert main(["--out", str(out)]) == 0
    assert main(["--out", str(out), "--check"]) == 0
