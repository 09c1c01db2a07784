"""Installing allocation lists: generated in the app or uploaded by the statistician, then activated.

Sequence generation and CSV validation are the pure package's (:mod:`trialdesk.allocation`); this
module stores a checked list and records its seed, algorithm version and hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from trialdesk import clock
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError

from . import strata
from .models import AllocationList, AllocationSlot

COLUMNS = ("stratum", "sequence", "block", "block_size", "arm")


@dataclass(frozen=True)
class ListFacts:
    source: str
    algorithm_version: str
    seed: int | None = None
    label: str = ""


def rows_hash(rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 over the list's rows in a canonical text form, whatever file they came from."""
    lines = sorted(",".join(str(row[c]) for c in COLUMNS) for row in rows)
    return hashlib.sha256("\n".join([",".join(COLUMNS), *lines]).encode()).hexdigest()


def install_list(rows: list[Mapping[str, Any]], facts: ListFacts, context: Context) -> AllocationList:
    """Store a list; it becomes active if no list is. Checks that it fits the protocol's strata and arms."""
    protocol = active_protocol()
    known_strata = {strata.label(levels) for levels in protocol.strata()}
    arms = {arm.code for arm in protocol.arms}
    by_stratum: dict[str, list[int]] = {}
    for number, row in enumerate(rows, start=1):
        if row["stratum"] not in known_strata:
            raise UserError(
                f"row {number}: unknown stratum {row['stratum']!r} "
                f"(the protocol's strata: {', '.join(sorted(known_strata))})"
            )
        if row["arm"] not in arms:
            raise UserError(
                f"row {number}: unknown arm {row['arm']!r} (the protocol's arms: {', '.join(sorted(arms))})"
            )
        by_stratum.setdefault(row["stratum"], []).append(int(row["sequence"]))
    if not rows:
        raise UserError("the allocation list has no rows")
    for stratum, sequences in by_stratum.items():
        if sorted(sequences) != list(range(1, len(sequences) + 1)):
            raise UserError(
                f"stratum {stratum}: sequence numbers must run 1..{len(sequences)} without gaps or repeats"
            )
    list_hash = rows_hash(rows)
    with transaction.atomic():
        if AllocationList.objects.filter(list_hash=list_hash).exists():
            raise UserError(f"this allocation list is already installed (hash {list_hash[:12]})")
        allocation_list = AllocationList.objects.create(
            label=facts.label or f"{facts.source} list {clock.today()}",
            source=facts.source,
            method=protocol.randomisation.method,
            seed=facts.seed,
            algorithm_version=facts.algorithm_version,
            list_hash=list_hash,
            per_stratum=max(len(s) for s in by_stratum.values()),
            protocol_hash=context.protocol_hash,
            created_by=context.actor,
            created_at=clock.now(),
            active=not AllocationList.objects.filter(active=True).exists(),
        )
        AllocationSlot.objects.bulk_create(
            AllocationSlot(
                allocation_list=allocation_list,
                stratum=row["stratum"],
                sequence=int(row["sequence"]),
                block=int(row["block"]),
                block_size=int(row["block_size"]),
                arm=row["arm"],
            )
            for row in rows
        )
        append(
            context,
            action="install",
            entity="allocation-list",
            entity_id=list_hash,
            new={
                "source": facts.source,
                "seed": facts.seed,
                "algorithm_version": facts.algorithm_version,
                "slots": len(rows),
                "strata": len(by_stratum),
                "active": allocation_list.active,
            },
        )
    return allocation_list


def activate(allocation_list: AllocationList, context: Context, *, reason: str) -> AllocationList:
    """Make another list the active one (e.g. after a stratum ran out); needs a reason."""
    with transaction.atomic():
        current = AllocationList.objects.select_for_update().filter(active=True).first()
        if current is not None and current.pk == allocation_list.pk:
            return current
        append(
            context,
            action="activate",
            entity="allocation-list",
            entity_id=allocation_list.list_hash,
            old=current.list_hash if current else None,
            new=allocation_list.list_hash,
            reason=reason,
            require_reason=True,
        )
        AllocationList.objects.filter(active=True).update(active=False)
        AllocationList.objects.filter(pk=allocation_list.pk).update(active=True)
    allocation_list.refresh_from_db()
    return allocation_list


def usage(allocation_list: AllocationList) -> list[dict[str, Any]]:
    """Used and total slots per stratum: the only view of a list the app gives (never an arm)."""
    from django.db.models import Count, Q

    return list(
        allocation_list.slots.values("stratum")
        .order_by("stratum")
        .annotate(total=Count("id"), used=Count("id", filter=Q(participant__isnull=False)))
    )
