"""The TOML line locator and dotted paths."""

from __future__ import annotations

import tomllib

from trialdesk.protocol.locate import TomlLocator, format_path, resolve_path

DOC = '''\
title = "x"   # comment with = and [brackets]
multi = """
line [one]
= "two"
"""
[owner]
name = 'literal [not a table]'
dotted.key = 1

[[items]]
code = "a"
values = [
  1,
  { k = "v", nested = [2, 3] },
  # a comment inside an array
  "[x]",
]

[[items]]
code = "b"
[items.sub]
deep = true

[[items.list]]
n = 1
[[items.list]]
n = 2
"quoted key" = 3
'''


def test_document_is_valid_toml():
    assert tomllib.loads(DOC)["items"][1]["list"][1]["n"] == 2


def test_lines_of_keys_tables_and_array_items():
    locator = TomlLocator(DOC)
    assert locator.line(("title",)) == 1
    assert locator.line(("multi",)) == 2
    assert locator.line(("owner",)) == 6
    assert locator.line(("owner", "name")) == 7
    assert locator.line(("owner", "dotted", "key")) == 8
    assert locator.line(("items",)) == 10
    assert locator.line(("items", 0)) == 10
    assert locator.line(("items", 0, "values", 0)) == 13
    assert locator.line(("items", 0, "values", 1)) == 14
    assert locator.line(("items", 0, "values", 1, "k")) == 14
    assert locator.line(("items", 0, "values", 1, "nested", 1)) == 14
    assert locator.line(("items", 0, "values", 2)) == 16
    assert locator.line(("items", 1)) == 19
    assert locator.line(("items", 1, "sub", "deep")) == 22
    assert locator.line(("items", 1, "list", 0, "n")) == 25
    assert locator.line(("items", 1, "list", 1)) == 26
    assert locator.line(("items", 1, "list", 1, "quoted key")) == 28


def test_missing_location_falls_back_to_nearest_parent():
    locator = TomlLocator(DOC)
    assert locator.line(("owner", "missing")) == 6
    assert locator.line(("items", 1, "sub", "nope", 3)) == 21
    assert locator.line(("nothing",)) is None


def test_format_path():
    assert format_path(("visits", 2, "window_after_months")) == "visits[2].window_after_months"
    assert format_path(("a", 0, 1, "b")) == "a[0][1].b"
    assert format_path(()) == "(document)"


def test_resolve_path_by_index_and_by_code():
    data = tomllib.loads(DOC)
    assert resolve_path(data, "items[1].sub.deep") == ("items", 1, "sub", "deep")
    assert resolve_path(data, "items[b].sub") == ("items", 1, "sub")
    assert resolve_path(data, "items[0].values[2]") == ("items", 0, "values", 2)
    assert resolve_path(data, "items[c]") is None
    assert resolve_path(data, "items[5]") is None
    assert resolve_path(data, "owner.age") is None
    assert resolve_path(data, "title.x") is None
    assert resolve_path(data, "") is None
