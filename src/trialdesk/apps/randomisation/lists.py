"""Installing allocation lists: generated in the app or uploaded by the statistician, then activated.

Sequence generation and list checking are the pure package's (:mod:`trialdesk.allocation`); this
module stores a checked list with its seed, algorithm version and SHA-256, and never shows its arms.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from trialdesk import allocation, clock
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError

from .models import AllocationList, AllocationSlot


def generate(*, seed: int, per_stratum: int, context: Context, label: str = "") -> AllocationList:
    """Generate a stratified permuted-block list from the active protocol and store it."""
    scheme = allocation.scheme_from_protocol(active_protocol())
    made = allocation.generate_list(scheme, seed=seed, per_stratum=per_stratum)
    return install(made, source="generated", context=context, label=label)


def upload(text: str, *, context: Context, label: str = "") -> AllocationList:
    """Check an uploaded list file against the active protocol and store it.

    A ``# sha256:`` line is optional (lists written by other software lack it) but must match if present.
    """
    scheme = allocation.scheme_from_protocol(active_protocol())
    parsed = allocation.parse_list(text, scheme, require_hash=False, name="uploaded list")
    return install(parsed, source="uploaded", context=context, label=label)


def install(
    made: allocation.AllocationList, *, source: str, context: Context, label: str = ""
) -> AllocationList:
    """Store a checked list; it becomes active if no list is."""
    protocol = active_protocol()
    info = made.info
    version = f"{info.algorithm}/{info.algorithm_version}"
    per_stratum: dict[str, int] = {}
    for slot in made.slots:
        per_stratum[slot.stratum] = per_stratum.get(slot.stratum, 0) + 1
    with transaction.atomic():
        if AllocationList.objects.filter(list_hash=made.sha256).exists():
            raise UserError(_("this allocation list is already installed (sha256 %(sha256)s...)") % {
                "sha256": made.sha256[:12]})
        stored = AllocationList.objects.create(
            label=label.strip() or f"{source} list {clock.today()}", source=source,
            method=protocol.randomisation.method, seed=info.seed, algorithm_version=version,
            list_hash=made.sha256, per_stratum=max(per_stratum.values()), protocol_hash=context.protocol_hash,
            created_by=context.actor, created_at=clock.now(),
            active=not AllocationList.objects.filter(active=True).exists(),
        )  # fmt: skip
        AllocationSlot.objects.bulk_create(
            AllocationSlot(allocation_list=stored, stratum=s.stratum, sequence=s.sequence, block=s.block,
                           block_size=s.block_size, arm=s.arm)
            for s in made.slots
        )  # fmt: skip
        facts = {"source": source, "seed": info.seed, "algorithm_version": version, "slots": len(made.slots),
                 "per_stratum": per_stratum, "active": stored.active}  # fmt: skip
        append(context, action="install", entity="allocation-list", entity_id=made.sha256, new=facts)
    return stored


def activate(allocation_list: AllocationList, context: Context, *, reason: str) -> AllocationList:
    """Make another list the active one (e.g. after a stratum ran out); needs a reason."""
    with transaction.atomic():
        current = AllocationList.objects.select_for_update().filter(active=True).first()
        if current is not None and current.pk == allocation_list.pk:
            return current
        append(context, action="activate", entity="allocation-list", entity_id=allocation_list.list_hash,
               old=current.list_hash if current else None, new=allocation_list.list_hash, reason=reason,
               require_reason=True)  # fmt: skip
        AllocationList.objects.filter(active=True).update(active=False)
        AllocationList.objects.filter(pk=allocation_list.pk).update(active=True)
    allocation_list.refresh_from_db()
    return allocation_list


def usage(allocation_list: AllocationList) -> list[dict[str, Any]]:
    """Used and total slots per stratum: the only view of a list the app gives (never an arm)."""
    return list(
        allocation_list.slots.values("stratum").order_by("stratum")
        .annotate(total=Count("id"), used=Count("id", filter=Q(participant__isnull=False)))
    )  # fmt: skip
