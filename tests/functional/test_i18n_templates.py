"""Every template's visible text is marked for translation.

A heuristic scan, strict enough to catch a regression: in each template of the user interface, text with
letters outside {% translate %}/{% blocktranslate %} (and outside HTML tags, template tags, variables,
comments, <script> and <style>) fails, and so do the visible attributes aria-label, title, placeholder and
alt (and the data-working/data-filter texts the page's script shows) when their literal part has
letters. Protocol and instrument content reaches templates as variables, so it is not affected.
ALLOWED lists the few literal texts that are the same in every language.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template.base import DebugLexer, TokenType

from trialdesk.web.i18n_catalog import template_files

ALLOWED = {
    "trialdesk",  # the product's name
    "CSV",  # a file format, the same in Danish
    "csv",  # a file name's ending
    "SHA-256",  # a hash algorithm's name
    "sha256",
}
PUNCTUATION = " \n;:,.·()…"
LETTERS = re.compile(r"[^\W\d_]")
ENTITY = re.compile(r"&[a-zA-Z]+;|&#\d+;")
VISIBLE_ATTRIBUTE = re.compile(r'\b(?:aria-label|title|placeholder|alt|data-working|data-filter)="([^"]*)"')
SKIPPED_BLOCKS = {
    "comment": "endcomment",
    "blocktranslate": "endblocktranslate",
    "blocktrans": "endblocktrans",
}


def untranslated(source: str) -> list[str]:
    """The visible literal texts of a template that no translation tag holds."""
    masked = list(source)
    closing = None
    for token in DebugLexer(source).tokenize():
        start, end = token.position
        if token.token_type == TokenType.TEXT and closing is None:
            continue
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if closing is None and name in SKIPPED_BLOCKS:
                closing = SKIPPED_BLOCKS[name]
            elif name == closing:
                closing = None
        masked[start:end] = "\x00" * (end - start)
    text = "".join(masked)
    text = re.sub(r"<(script|style)\b.*?</\1>", lambda m: "\x00" * len(m.group(0)), text, flags=re.S | re.I)
    found = []
    for tag in re.finditer(r"<[^>]*>", text):
        for value in VISIBLE_ATTRIBUTE.findall(tag.group(0)):
            found.extend(_words(value))
    found.extend(_words(re.sub(r"<[^>]*>", "\x00", text)))
    return found


def _words(text: str) -> list[str]:
    runs = (run.strip(PUNCTUATION) for run in ENTITY.sub(" ", text).split("\x00"))
    return [run for run in runs if LETTERS.search(run) and run not in ALLOWED]


TEMPLATES = template_files()


def test_the_scan_sees_every_template():
    assert len(TEMPLATES) > 60


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: "/".join(Path(p).parts[-3:]))
def test_template_text_is_marked_for_translation(path):
    assert untranslated(path.read_text(encoding="utf-8")) == []


def test_the_scan_catches_unmarked_text():
    assert untranslated('<p class="x">Save {{ a }}</p>') == ["Save"]
    assert untranslated('<span aria-label="{{ n }} items">{{ n }}</span>') == ["items"]
    assert untranslated("<b>{% translate 'Save' %}</b>{# note #}{% comment %}x{% endcomment %}") == []
    assert untranslated("{% blocktranslate %}Hi {{ a }}{% endblocktranslate %}<script>let a;</script>") == []
