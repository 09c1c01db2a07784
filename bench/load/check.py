"""After a load run: is every allocation unique and in sequence, and does the ledger account for each one?

Run with the load run's DATABASE_URL / TRIALDESK_DATA_DIR; prints one JSON document:

  allocations            how many participants are allocated
  duplicate_slots        slots handed out more than once (must be 0)
  mismatched             allocations whose slot is of another stratum, arm or participant (must be 0)
  out_of_order_strata    strata whose slots were not taken 1, 2, 3, ... in order of allocation (must be [])
  ledger_randomise       ledger entries recording a randomisation
  unledgered, ledger_without_allocation   trial ids on one side only (must both be [])
  randomised_status      participants whose status is randomised (must equal allocations)
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict


def check() -> dict:
    from trialdesk.web.bootstrap import setup

    setup()
    from trialdesk.apps.ledger.models import LedgerEntry
    from trialdesk.apps.participants.models import Participant
    from trialdesk.apps.randomisation.models import Allocation

    allocations = list(
        Allocation.objects.select_related("slot", "participant").order_by("pk")
        .values_list("participant__trial_id", "stratum", "arm", "participant_id",
                     "slot_id", "slot__stratum", "slot__arm", "slot__participant_id", "slot__sequence")
    )  # fmt: skip
    slots = Counter(row[4] for row in allocations)
    mismatched = [
        row[0] for row in allocations if (row[1], row[2], row[3]) != (row[5], row[6], row[7])
    ]
    taken: dict[str, list[int]] = defaultdict(list)
    for row in allocations:
        taken[row[1]].append(row[8])
    # The seed and the run share one list, so in order of allocation each stratum took 1, 2, ..., n.
    out_of_order = sorted(s for s, seq in taken.items() if seq != list(range(1, len(seq) + 1)))
    entries = LedgerEntry.objects.filter(action="randomise", entity="participant")
    ledgered = Counter(entries.values_list("entity_id", flat=True))
    allocated = {row[0] for row in allocations}
    return {
        "allocations": len(allocations),
        "duplicate_slots": sum(n - 1 for n in slots.values() if n > 1),
        "mismatched": mismatched,
        "out_of_order_strata": out_of_order,
        "ledger_randomise": sum(ledgered.values()),
        "ledgered_twice": sorted(t for t, n in ledgered.items() if n > 1),
        "unledgered": sorted(allocated - set(ledgered)),
        "ledger_without_allocation": sorted(set(ledgered) - allocated),
        "randomised_status": Participant.objects.filter(status="randomised").count(),
        "strata": {stratum: len(seq) for stratum, seq in sorted(taken.items())},
    }


def passed(found: dict) -> bool:
    return (
        found["duplicate_slots"] == 0
        and not found["mismatched"]
        and not found["out_of_order_strata"]
        and not found["ledgered_twice"]
        and not found["unledgered"]
        and not found["ledger_without_allocation"]
        and found["ledger_randomise"] == found["allocations"] == found["randomised_status"]
    )


if __name__ == "__main__":
    result = check()
    result["passed"] = passed(result)
    print(json.dumps(result))
