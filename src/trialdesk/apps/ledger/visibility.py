"""Which ledger entries a user may read: the one rule behind the audit review page, its CSV download,
``trialdesk audit export`` and the AuditRecords of blinded ODM exports.

Some entries tell a reader the arm of a participant: the allocation itself, the allocation list and its
seed, minimisation state, unblinding requests, the arm-letter key of blinded exports, everything about IMR
delivery (entities ``imr-...``: who attends IMR groups is who is in the intervention arm) and a withdrawal
from the intervention only. Users without ``view-allocation`` never see them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from trialdesk.apps.accounts.permissions import allowed

from .services import as_json

#: Entity name prefixes whose entries reveal allocation ("allocation" also covers the list and guesses).
ALLOCATION_ENTITIES = ("allocation", "minimisation", "unblinding", "arm-letters", "imr-")
#: Withdrawal scopes that only a participant in the intervention arm can have.
INTERVENTION_ONLY_SCOPES = ("intervention",)


def allocation_revealing() -> Q:
    """The entries that reveal allocation, as a filter on ``LedgerEntry``."""
    query = Q()
    for prefix in ALLOCATION_ENTITIES:
        query |= Q(entity__startswith=prefix)
    for scope in INTERVENTION_ONLY_SCOPES:
        # new_value is canonical JSON (sorted keys, ", " and ": " separators; see services.as_json)
        fragment = as_json({"scope": scope})[1:-1]
        query |= Q(entity="withdrawal", new_value__contains=fragment)
    return query


def blinded(queryset: QuerySet) -> QuerySet:
    """``queryset`` without the entries that reveal allocation (for blinded exports)."""
    return queryset.exclude(allocation_revealing())


def visible_entries(queryset: QuerySet, user: Any) -> QuerySet:
    """The entries of ``queryset`` that ``user`` may read (``None``: the server's operator, who sees all)."""
    if user is None or allowed(user, "view-allocation"):
        return queryset
    return blinded(queryset)
