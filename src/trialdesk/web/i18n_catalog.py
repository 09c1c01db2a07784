"""The Danish message catalogue, written and compiled without GNU gettext (``make messages``).

Django's ``makemessages``/``compilemessages`` call xgettext and msgfmt, which are not installed on every
machine that builds trialdesk. This does the same with Babel (pure Python): templates go through Django's own
``templatize`` (the step ``makemessages`` runs before xgettext), Python sources through Babel's extractor with
Django's gettext names as keywords; the result is merged into ``locale/da/LC_MESSAGES/django.po`` (existing
translations kept, new messages added empty, vanished ones dropped) and compiled to ``django.mo``.

    python -m trialdesk.web.i18n_catalog           # extract, merge, compile
    python -m trialdesk.web.i18n_catalog compile   # compile only
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PACKAGE_DIR = Path(__file__).resolve().parent.parent
LOCALE_DIR = PACKAGE_DIR / "locale"
PO_PATH = LOCALE_DIR / "da" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

#: Where the user interface lives: the Django apps, the web layer, and the API's pages (tokens) and the
#: service refusals its answers carry. Pure packages (protocol, stats, reporting...) have no translated
#: strings: their text is protocol content, data or machine-read.
SOURCE_DIRS = ("apps", "web", "api", "instruments")

KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}


HEADER = "# Danish translations of the trialdesk UI.\n# Written by hand; `make messages` adds new ones."


def template_files() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (PACKAGE_DIR / d).rglob("*.html"))


def python_files() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS for p in (PACKAGE_DIR / d).rglob("*.py")
                  if "migrations" not in p.parts and p.name != "i18n_catalog.py")


def _messages(path: Path) -> Iterator[tuple[int, str | tuple[str, ...], str | None]]:
    if path.suffix == ".html":
        from django.utils.translation.template import templatize

        code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        # xgettext ignores indentation, Python's tokenizer does not: flatten it (line numbers are kept).
        code = "\n".join(line.lstrip() for line in code.splitlines()).encode("utf-8")
    else:
        code = path.read_bytes()
    for lineno, message, _comments, context in extract("python", io.BytesIO(code), keywords=KEYWORDS,
                                                       comment_tags=("Translators:",)):
        yield lineno, message, context


def _instrument_texts(template: Catalog) -> None:
    """The texts the instrument forms show, from the definitions, in their own message context."""
    from trialdesk.instruments import TEXT_CONTEXT, load_library
    from trialdesk.instruments.library import DEFINITIONS

    for instrument in load_library(DEFINITIONS):
        path = DEFINITIONS / f"{instrument.code}.toml"
        lines = path.read_text(encoding="utf-8").splitlines()
        relative = path.relative_to(PACKAGE_DIR).as_posix()

        def collect(text: str, lines: list[str] = lines, relative: str = relative) -> str:
            lineno = next((n for n, line in enumerate(lines, 1) if text in line), None)
            template.add(text, None, [(relative, lineno)], context=TEXT_CONTEXT)
            return text

        instrument.translated(collect)


def extracted() -> Catalog:
    """Every translatable message in the sources and the instrument definitions, as a template catalogue."""
    template = Catalog(project="trialdesk", fuzzy=False)
    for path in template_files() + python_files():
        relative = path.relative_to(PACKAGE_DIR).as_posix()
        for lineno, message, context in _messages(path):
            template.add(message, None, [(relative, lineno)], context=context)
    _instrument_texts(template)
    return template


def read_catalogue(path: Path = PO_PATH) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale="da")


def update_po() -> Catalog:
    """Merge the sources' messages into the Danish .po: translations kept, new messages empty."""
    template = extracted()
    if PO_PATH.exists():
        catalogue = read_catalogue()
    else:
        catalogue = Catalog(locale="da", project="trialdesk", fuzzy=False, header_comment=HEADER,
                            language_team="trialdesk", last_translator="trialdesk")
    template.creation_date = catalogue.creation_date  # the header changes only when a translator edits it
    # No fuzzy matching: a guessed translation of a changed English text is worse than an empty one,
    # which the i18n tests report.
    catalogue.update(template, no_fuzzy_matching=True, update_header_comment=False)
    catalogue.obsolete.clear()
    PO_PATH.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalogue, width=110, sort_output=True, omit_header=False, include_previous=False)
    PO_PATH.write_bytes(buffer.getvalue())
    return catalogue


def compiled(po_path: Path = PO_PATH) -> bytes:
    """The .mo bytes for the .po (fuzzy and untranslated entries left out, as msgfmt does)."""
    buffer = io.BytesIO()
    write_mo(buffer, read_catalogue(po_path), use_fuzzy=False)
    return buffer.getvalue()


def compile_mo() -> None:
    MO_PATH.write_bytes(compiled())


def main(argv: list[str]) -> int:
    if argv[:1] != ["compile"]:
        import os

        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialdesk.web.settings")
        django.setup()  # templatize reads the template engine's settings
        catalogue = update_po()
        missing = [m.id for m in catalogue if m.id and not m.string]
        print(f"{PO_PATH}: {len(catalogue)} messages, {len(missing)} without a translation")
    compile_mo()
    print(f"{MO_PATH} written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
