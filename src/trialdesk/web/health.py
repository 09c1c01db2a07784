"""``/health/`` for monitoring: the database answers, no migration is pending, the ledger's last entry.

200 with ``"status": "ok"`` when all is well; 503 with the problem named otherwise, so a load balancer
takes the instance out of service (e.g. new code started before ``trialdesk serve`` migrated).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.loader import MigrationLoader
from django.db.models import Max
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


def pending_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """``app.migration`` names not recorded as applied. Every known migration is compared with the
    record, not just the plan to the latest ones: that plan skips an unapplied migration whose
    successor is recorded (an inconsistent history is pending work too)."""
    loader = MigrationLoader(connections[alias])
    return sorted(f"{app}.{name}" for app, name in set(loader.graph.nodes) - set(loader.applied_migrations))


@never_cache
def health(request):
    from trialdesk.apps.ledger.models import LedgerEntry

    connection = connections[DEFAULT_DB_ALIAS]
    body: dict[str, object] = {"status": "ok", "database": connection.vendor}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        pending = pending_migrations()
        body["migrations_pending"] = len(pending)
        if pending:
            body.update(status="error", problem=f"{len(pending)} migration(s) not applied")
            return JsonResponse(body, status=503)
        body["ledger_last_seq"] = LedgerEntry.objects.aggregate(last=Max("seq"))["last"] or 0
    except DatabaseError as problem:
        # The exception class only: its message can quote SQL, and this page is unauthenticated.
        body.update(status="error", problem=f"database unavailable ({type(problem).__name__})")
        return JsonResponse(body, status=503)
    return JsonResponse(body)
