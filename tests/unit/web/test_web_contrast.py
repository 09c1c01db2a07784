"""Colour contrast of the base style sheet against WCAG 2.1 AA, computed from its CSS variables.

The formula is WCAG 2.1's (relative luminance of sRGB, https://www.w3.org/TR/WCAG21/#dfn-relative-luminance;
contrast ratio (L1 + 0.05) / (L2 + 0.05)). Success criterion 1.4.3 asks 4.5:1 for normal text; 1.4.11
asks 3:1 for focus indicators and other non-text parts that carry meaning.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[3] / "src/trialdesk/web/static/trialdesk/trialdesk.css"
TEXT, NON_TEXT = 4.5, 3.0

#: (foreground, background, minimum): every text colour on every background the style sheet puts it on.
PAIRS = [
    ("--ink", "--bg", TEXT), ("--ink", "--surface", TEXT), ("--muted", "--surface", TEXT),
    ("--muted", "--bg", TEXT), ("--accent", "--surface", TEXT), ("--accent", "--bg", TEXT),
    ("--surface", "--accent", TEXT),  # button text
    ("--accent", "--info-bg", TEXT),  # current navigation section
    ("--ink", "--info-bg", TEXT), ("--ink", "--chip-bg", TEXT), ("--muted", "--chip-bg", TEXT),
    ("--bad", "--surface", TEXT), ("--bad", "--bad-bg", TEXT), ("--good", "--good-bg", TEXT),
    ("--good", "--surface", TEXT), ("--warn", "--warn-bg", TEXT), ("--warn", "--surface", TEXT),
    ("--focus", "--surface", NON_TEXT), ("--focus", "--bg", NON_TEXT),  # focus ring
    ("--focus", "--info-bg", NON_TEXT),
]  # fmt: skip


def variables(css: str) -> dict[str, str]:
    root = re.search(r":root\s*{([^}]*)}", css)
    assert root, "no :root block in the style sheet"
    return dict(re.findall(r"(--[\w-]+)\s*:\s*(#[0-9a-fA-F]{6})", root.group(1)))


def luminance(hex_colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def ratio(foreground: str, background: str) -> float:
    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_formula_gives_the_published_ratios():
    # Black on white is 21:1 (WCAG 2.1, Understanding SC 1.4.3); #767676 on white is the darkest grey
    # commonly cited as just passing AA at 4.54:1 (WebAIM contrast checker).
    assert ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.005)
    assert ratio("#777777", "#ffffff") < TEXT


def test_every_variable_used_in_a_pair_is_declared():
    declared = variables(CSS.read_text())
    assert {name for pair in PAIRS for name in pair[:2]} <= set(declared)


@pytest.mark.parametrize(("foreground", "background", "minimum"), PAIRS)
def test_colour_pairs_meet_wcag_aa(foreground, background, minimum):
    colours = variables(CSS.read_text())
    got = ratio(colours[foreground], colours[background])
    assert got >= minimum, f"{foreground} on {background}: {got:.2f}:1 < {minimum}:1"


def test_the_warning_banner_meets_aa():
    css = CSS.read_text()
    rule = re.search(r"\.banner-warning\s*{([^}]*)}", css).group(1)
    text = re.search(r"(?<!-)color:\s*(#[0-9a-fA-F]{6})", rule).group(1)
    assert ratio(text, variables(css)["--warn-bg"]) >= TEXT
