"""Run the analysis plan on a snapshot and keep the run: the only writer of :class:`AnalysisRun`.

A run analyses an unblinded snapshot (:func:`resolve_snapshot` says why and how to take one) and reads it
through :func:`load_snapshot`, which checks every file against the manifest
(a tampered or missing file stops the run with a message naming it), calls the pure
:func:`trialdesk.analysis.run_plan`, and stores the canonical JSON's document and SHA-256 so two runs on
the same snapshot can be compared byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.analysis import run_plan, to_json
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.snapshots.models import Snapshot
from trialdesk.apps.snapshots.snapshot import load_snapshot
from trialdesk.apps.trial.models import ProtocolVersion
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError

from .models import AnalysisRun

#: Save progress at most this often (share of the run), so a run is not a stream of writes.
PROGRESS_STEP = 0.02


def resolve_snapshot(snapshot_id: str | None) -> Snapshot:
    """The named snapshot, or the latest; a clear error when there is none, or when it is blinded.

    The analysis compares the arms, so it needs an unblinded snapshot. The data manager's database lock
    takes a blinded one (the data manager is blind); the statistician, once allowed to see allocations,
    takes the unblinded analysis snapshot of the same locked data. Taken at the same instant, the
    unblinded one counts as the later. A blinded latest snapshot is refused, never passed over for an
    older unblinded one: that would analyse data from before the lock without saying so.
    """
    if snapshot_id is None:
        found = Snapshot.objects.order_by("-taken_at", "blinded", "-id").first()
        if found is None:
            raise UserError(
                _(
                    "there is no locked snapshot to analyse: lock the data and take a snapshot first "
                    "(`trialdesk snapshot take`)"
                )
            )
    else:
        found = Snapshot.objects.filter(pk=snapshot_id).first()
        if found is None:
            raise UserError(_("no snapshot %(snapshot_id)s; `trialdesk snapshot list` shows them") % {
                "snapshot_id": repr(snapshot_id)})
    if found.blinded:
        raise UserError(_blinded(found, named=snapshot_id is not None))
    return found


def _blinded(snapshot: Snapshot, *, named: bool) -> str:
    older = (
        Snapshot.objects.filter(blinded=False, taken_at__lte=snapshot.taken_at)
        .order_by("-taken_at", "-id")
        .first()
    )
    hint = (
        f"; the latest unblinded snapshot, {older.id}, was taken before it: name it with --snapshot "
        "if it holds the data to analyse"
        if older is not None and not named
        else ""
    )
    return (
        f"snapshot {snapshot.id} ({snapshot.label}) is blinded: arms coded by letter and no IMR groups "
        "or attendance, so the analysis plan cannot compare the arms. A statistician allowed to see "
        "allocations takes the unblinded analysis snapshot of the locked data with `trialdesk snapshot "
        "take --unblinded --user NAME --label LABEL`, which `trialdesk analyse` then uses" + hint
    )


def lock_of(snapshot: Snapshot) -> dict[str, Any] | None:
    """The database lock in force when ``snapshot`` was taken (None: the data were not locked)."""
    from trialdesk.apps.datamanagement.models import Lock

    lock = (
        Lock.objects.filter(scope="database", locked_at__lte=snapshot.taken_at)
        .filter(Q(unlocked_at__isnull=True) | Q(unlocked_at__gt=snapshot.taken_at))
        .order_by("-locked_at", "-id")
        .first()
    )
    if lock is None:
        return None
    return {
        "id": lock.pk,
        "locked_at": lock.locked_at.isoformat(),
        "locked_by": lock.locked_by,
        "snapshot": lock.snapshot_id,
    }


def snapshot_provenance(snapshot: Snapshot) -> dict[str, Any]:
    """What the results record of their snapshot: which one, when, and under which database lock."""
    return {
        "id": snapshot.id,
        "label": snapshot.label,
        "taken_at": snapshot.taken_at.isoformat(),
        "blinded": snapshot.blinded,
        "database_lock": lock_of(snapshot),
    }


def default_seed() -> int:
    """The primary plan's imputation seed, so runs are reproducible without naming one."""
    protocol = active_protocol()
    primary = next(p for p in protocol.analysis.plans if protocol.primary_outcome.code in p.outcomes)
    return int(primary.missing_data.seed or 0)


def create_run(context: Context, snapshot_id: str | None = None, *, seed: int | None = None) -> AnalysisRun:
    snapshot = resolve_snapshot(snapshot_id)
    with transaction.atomic():
        run = AnalysisRun.objects.create(
            snapshot=snapshot,
            seed=default_seed() if seed is None else seed,
            created_by=context.actor,
            created_at=clock.now(),
        )
        append(
            context,
            action="create",
            entity="analysis-run",
            entity_id=str(run.pk),
            new={"snapshot": snapshot.pk, "seed": run.seed},
        )
    return run


def enqueue(run: AnalysisRun) -> AnalysisRun:
    """Hand the run to the background worker (survives restarts: the queue is a database table)."""
    from .tasks import analyse_run

    result = analyse_run.enqueue(run.pk)
    AnalysisRun.objects.filter(pk=run.pk).update(task_id=str(result.id))
    run.refresh_from_db()
    return run


def _progress(run: AnalysisRun):
    last = [-1.0]

    def report(fraction: float, message: str) -> None:
        if fraction - last[0] >= PROGRESS_STEP or fraction >= 1.0:
            last[0] = fraction
            AnalysisRun.objects.filter(pk=run.pk).update(progress=round(fraction, 3), message=message[:200])

    return report


def execute(run_id: int) -> AnalysisRun:
    """Run the plan for a queued run; a user error (no data, tampered snapshot) fails it with the reason."""
    run = AnalysisRun.objects.select_related("snapshot").get(pk=run_id)
    if run.status == AnalysisRun.DONE:
        return run
    AnalysisRun.objects.filter(pk=run.pk).update(status=AnalysisRun.RUNNING, started_at=clock.now(), error="")
    try:
        tables = load_snapshot(run.snapshot_id)
        protocol = protocol_of(run.snapshot)
        results = run_plan(
            protocol,
            tables,
            seed=run.seed,
            snapshot_hash=run.snapshot.manifest_sha256,
            snapshot=snapshot_provenance(run.snapshot),
            progress=_progress(run),
        )
    except UserError as problem:
        _finish(run, AnalysisRun.FAILED, error=str(problem))
        raise
    except Exception as problem:  # a failed fit must not leave the run "running" for ever
        _finish(run, AnalysisRun.FAILED, error=f"{type(problem).__name__}: {problem}")
        raise
    text = to_json(results)
    _finish(run, AnalysisRun.DONE, results=json.loads(text), sha=hashlib.sha256(text.encode()).hexdigest())
    run.refresh_from_db()
    return run


def protocol_of(snapshot: Snapshot):
    """The protocol the snapshot was taken under (the active one if that version is not stored)."""
    from trialdesk.protocol import Protocol

    version = ProtocolVersion.objects.filter(content_hash=snapshot.protocol_hash).first()
    return active_protocol() if version is None else Protocol.model_validate(version.document)


def _finish(
    run: AnalysisRun, status: str, *, error: str = "", results: dict[str, Any] | None = None, sha: str = ""
) -> None:
    with transaction.atomic():
        AnalysisRun.objects.filter(pk=run.pk).update(
            status=status,
            error=error,
            results=results,
            results_sha256=sha,
            finished_at=clock.now(),
            provenance=(results or {}).get("provenance"),
            progress=1.0 if status == AnalysisRun.DONE else run.progress,
            message="done" if status == AnalysisRun.DONE else "failed",
        )
        append(
            Context(actor=run.created_by, channel="system"),
            action="update",
            entity="analysis-run",
            entity_id=str(run.pk),
            new={"status": status, "results_sha256": sha, "error": error[:500]},
        )


def run_now(context: Context, snapshot_id: str | None = None, *, seed: int | None = None) -> AnalysisRun:
    """Create and execute a run in this process (the command line does this)."""
    run = create_run(context, snapshot_id, seed=seed)
    return execute(run.pk)


def latest_done(snapshot: Snapshot) -> AnalysisRun | None:
    return AnalysisRun.objects.filter(snapshot=snapshot, status=AnalysisRun.DONE).first()
