"""Instrument.translated: every text a form shows goes through the translation, nothing a score, a check or
stored data depends on does, and a translated instrument scores a form exactly as the original does."""

import pytest

from trialdesk.instruments import get_library, score

LIBRARY = get_library()


def _marked(text: str) -> str:
    return f"«{text}»"


def _form_texts(instrument) -> list[str]:
    texts = [instrument.name, instrument.short_name, instrument.period]
    for item in instrument.items:
        texts += [item.label, item.note, *(c.label for c in item.choices), *(a.label for a in item.anchors)]
    return [*texts, *(subscale.label for subscale in instrument.subscales)]


def _rules(item) -> tuple:
    """What an item is apart from its texts."""
    bounds = (item.allowed, item.minimum, item.maximum, item.step)
    return (item.code, item.kind, *bounds, item.scored, item.required, [c.code for c in item.choices],
            [(a.low, a.high) for a in item.anchors])  # fmt: skip


@pytest.mark.parametrize("code", LIBRARY.codes())
def test_every_form_text_is_translated_and_nothing_else_changes(code):
    original = LIBRARY.get(code)
    translated = original.translated(_marked)
    assert [text for text in _form_texts(translated) if text] == [
        _marked(text) for text in _form_texts(original) if text
    ]
    # Empty texts stay empty: gettext("") would return the catalogue's header.
    assert [t for t in _form_texts(translated) if not t] == [t for t in _form_texts(original) if not t]
    unchanged = {"name", "short_name", "period", "items", "subscales"}
    assert {k: v for k, v in translated.model_dump().items() if k not in unchanged} == {
        k: v for k, v in original.model_dump().items() if k not in unchanged
    }
    assert [_rules(item) for item in translated.items] == [_rules(item) for item in original.items]
    assert [(s.name, s.items) for s in translated.subscales] == [
        (s.name, s.items) for s in original.subscales
    ]
    assert translated.item_map[original.items[0].code].label == _marked(original.items[0].label)


def test_the_identity_translation_gives_the_same_instrument():
    assert all(instrument.translated(lambda text: text) == instrument for instrument in LIBRARY)
    # ... with the same hash, as the per-language caches key on it; a changed text changes it.
    assert all(hash(instrument.translated(lambda text: text)) == hash(instrument) for instrument in LIBRARY)
    assert all(hash(instrument.translated(_marked)) != hash(instrument) for instrument in LIBRARY)


def test_a_translated_instrument_scores_as_the_original():
    panss = LIBRARY.get("panss")
    responses = {item.code: 1 + k % 7 for k, item in enumerate(panss.items)}
    del responses["G16"]  # one missing item: the prorated total must not change either
    assert score(panss.translated(_marked), responses) == score(panss, responses)
