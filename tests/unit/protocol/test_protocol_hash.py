"""The content hash depends on values only: not on comments, formatting, key order or 6 vs 6.0."""

from __future__ import annotations

import hashlib
import json

from trialdesk.protocol import EMBEDDED_PROTOCOL, canonical_json, load_protocol, parse_protocol

IMR = EMBEDDED_PROTOCOL.read_text(encoding="utf-8")


def test_hash_is_sha256_of_sorted_compact_json():
    protocol = load_protocol()
    text = canonical_json(protocol)
    assert protocol.content_hash == hashlib.sha256(text.encode("utf-8")).hexdigest()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert data["trial"]["start_date"] == "2011-02-28"


def test_formatting_and_comments_do_not_change_the_hash():
    reformatted = "# a new leading comment\n" + IMR.replace(
        "delta = 6\n", "delta = 6.0   # written as a float\n"
    ).replace('code = "BAL"\nname = "Ballerup"', 'name = "Ballerup"\ncode    =    "BAL"').replace(
        "# assumed", "# (assumed)"
    )
    assert reformatted != IMR
    assert parse_protocol(reformatted).content_hash == load_protocol().content_hash


def test_any_value_changes_the_hash():
    original = load_protocol().content_hash
    for old, new in [
        ("delta = 6\n", "delta = 7\n"),
        ('name = "Ballerup"', 'name = "Ballerup CMHC"'),
        ("window_after_months = 1  # assumed", "window_after_months = 0.5"),
        ('"imrs_clinician", "csq8",', '"csq8", "imrs_clinician",'),  # order of a list is a value
    ]:
        assert old in IMR
        assert parse_protocol(IMR.replace(old, new, 1)).content_hash != original, old


def test_hash_is_stable_across_loads():
    assert parse_protocol(IMR).content_hash == parse_protocol(IMR.encode("utf-8")).content_hash
