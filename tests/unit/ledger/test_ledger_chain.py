"""The hash chain on plain dicts: any alteration, removal, insertion or reordering is found."""

import datetime as dt

from trialdesk.apps.ledger.chain import GENESIS, entry_hash, verify


def _chain(n: int) -> list[dict]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        row = {"seq": seq, "at": dt.datetime(2026, 1, 1, 12, 0, seq, tzinfo=dt.UTC), "actor": "anna",
               "channel": "web", "action": "update", "entity": "assessment", "entity_id": str(seq),
               "field": "gaf_f", "old_value": "40", "new_value": "45", "reason": "typo", "site": "BAL",
               "participant": "BAL-0001", "protocol_hash": "ab" * 32, "prev_hash": prev}
        row["hash"] = prev = entry_hash(row)
        rows.append(row)
    return rows


def test_intact_chain_verifies():
    verdict = verify(_chain(5))
    assert verdict.ok and verdict.checked == 5


def test_altered_value_names_the_entry():
    rows = _chain(5)
    rows[2]["new_value"] = "55"
    verdict = verify(rows)
    assert not verdict.ok and verdict.broken_seq == 3 and "altered" in verdict.problem


def test_removed_entry_breaks_the_next_link():
    rows = _chain(5)
    del rows[1]
    verdict = verify(rows)
    assert not verdict.ok and verdict.broken_seq == 3 and verdict.checked == 1


def test_rehashed_alteration_is_still_caught_by_the_successor():
    rows = _chain(4)
    rows[1]["reason"] = "forged"
    rows[1]["hash"] = entry_hash(rows[1])
    verdict = verify(rows)
    assert not verdict.ok and verdict.broken_seq == 3


def test_time_is_hashed_in_utc_whatever_the_zone():
    row = _chain(1)[0]
    copenhagen = dt.timezone(dt.timedelta(hours=1))
    same_instant = dict(row, at=row["at"].astimezone(copenhagen))
    assert entry_hash(same_instant) == row["hash"]
    assert entry_hash(dict(row, at=row["at"] + dt.timedelta(microseconds=1))) != row["hash"]
