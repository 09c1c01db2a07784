"""docs/reference/protocol.md documents every field and problem code (staleness: tests/unit/test_docs.py)."""

from __future__ import annotations

from trialdesk.protocol import CODES
from trialdesk.protocol.docs import _models, render, undocumented_fields


def test_every_field_has_a_description():
    assert undocumented_fields() == []


def test_every_field_and_code_is_on_the_page():
    page = render()
    for model, where in _models():
        assert f"— `{model.__name__}`" in page
        for name in model.model_fields:
            assert f"| `{name}` |" in page, (where, name)
    for code, text in CODES.items():
        assert f"| {code} | {text} |" in page


def test_types_and_defaults_are_rendered():
    page = render()
    assert "| `ratio` | integer | required |" in page
    assert "| `month` | integer ≥ 0 | required |" in page
    assert "| `recruitment_target` | integer > 0 (optional) | — |" in page
    assert '| `role` | "primary" or "secondary" | required |' in page
    assert "| `rescreen_allowed` | boolean | `false` |" in page
    assert "| `code` | code | required | Visit code, e.g. baseline, m9. |" in page
    assert "### `analysis.plans[].estimand.intercurrent_events[]` — `IntercurrentEvent`" in page
