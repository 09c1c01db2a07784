"""Reading pages in the web tests of outcome assessment: form fields, links and text (not a test file)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Field:
    tag: str
    name: str
    attrs: dict[str, str]
    options: list[str] = field(default_factory=list)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[Field] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self._select: Field | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        values = {k: v or "" for k, v in attrs}
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if tag in ("input", "textarea") and values.get("name"):
            self.fields.append(Field(tag, values["name"], values))
        if tag == "select":
            self._select = Field(tag, values.get("name", ""), values)
            self.fields.append(self._select)
        if tag == "option" and self._select is not None:
            self._select.options.append(values.get("value", ""))

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "select":
            self._select = None

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def fields(html: str) -> dict[str, Field]:
    return {f.name: f for f in parse(html).fields}


def text(html: str) -> str:
    return re.sub(r"\s+", " ", " ".join(parse(html).text)).strip()


def links(html: str) -> list[str]:
    return parse(html).links
