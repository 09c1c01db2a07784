"""The Danish catalogue is complete and compiled: every message the sources mark has a Danish translation
(none fuzzy, none empty), the committed django.mo is exactly what the committed django.po compiles to, and
placeholders survive translation."""

import gettext
import io
import re

from trialdesk.web import i18n_catalog

PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%|%[sd]")


def test_every_message_has_a_danish_translation():
    catalogue = i18n_catalog.read_catalogue()
    messages = [m for m in catalogue if m.id]
    assert len(messages) > 400
    strings = {m.id: m.string if isinstance(m.string, tuple) else (m.string,) for m in messages}
    untranslated = [message_id for message_id, texts in strings.items() if not all(texts)]
    assert untranslated == []
    assert [m.id for m in messages if m.fuzzy] == []
    assert not catalogue.obsolete


def test_the_sources_have_no_message_missing_from_the_catalogue():
    """Run `make messages` after marking new text: this fails until the .po has it."""
    in_po = {m.id for m in i18n_catalog.read_catalogue() if m.id}
    in_sources = {m.id for m in i18n_catalog.extracted() if m.id}
    assert sorted(map(str, in_sources - in_po)) == []


def _messages(mo: bytes) -> dict:
    """A compiled catalogue's messages; Generated-By in the header names the Babel, not content."""
    catalogue = dict(gettext.GNUTranslations(io.BytesIO(mo))._catalog)  # type: ignore[attr-defined]
    catalogue[""] = re.sub(r"Generated-By: .*\n", "", catalogue.get("", ""))
    return catalogue


def test_the_compiled_catalogue_matches_the_po():
    assert _messages(i18n_catalog.MO_PATH.read_bytes()) == _messages(i18n_catalog.compiled()), (
        "run `make messages`"
    )


def test_placeholders_survive_translation():
    for message in i18n_catalog.read_catalogue():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = sorted(PLACEHOLDER.findall(ids[-1]))
        for string in strings:
            assert sorted(PLACEHOLDER.findall(string)) == wanted, (message.id, string)
