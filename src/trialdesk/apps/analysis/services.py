"""Run the analysis plan on a snapshot and keep the run: the only writer of :class:`AnalysisRun`.

A run analyses an unblinded snapshot (:func:`resolve_snapshot` says why and how to take one) and reads it
through :func:`load_snapshot`, which checks every file against the manifest
(a tampered or missing file stops the run with a message naming it), calls the pure
:func:`trialdesk.analysis.run_plan`, and stores the canonical JSON's document and SHA-256 so two runs on
the same snapshot can be compared byte for byte.

Restarts (``trialdesk.apps.restarts``, shared with register import jobs). :func:`execute` claims a queued
run as its next attempt and beats a heartbeat while the plan runs; every later write of the attempt (its
progress, its results) is conditional on its still being the run's running attempt, and the results, the
run's "done" and its ledger entry commit together. A run whose worker stopped (killed, server restarted)
is found by :func:`recover_interrupted` (``trialdesk worker`` calls it): queued to run again from the start
the first time, failed the second. Nothing of an interrupted attempt is kept, so a re-run's results are
those of an uninterrupted run, stored once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import translation
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.analysis import run_plan, to_json
from trialdesk.apps import restarts
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.snapshots.models import Snapshot
from trialdesk.apps.snapshots.snapshot import load_snapshot
from trialdesk.apps.trial.models import ProtocolVersion
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError

from .models import AnalysisRun

log = logging.getLogger("trialdesk.analysis")

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


def _progress(run: AnalysisRun, attempt: int):
    last = [-1.0]

    def report(fraction: float, message: str) -> None:
        if fraction - last[0] >= PROGRESS_STEP or fraction >= 1.0:
            last[0] = fraction
            restarts.current(run, attempt).update(
                progress=round(fraction, 3), message=message[:200], heartbeat_at=clock.now()
            )

    return report


class _SupersededError(Exception):
    """This attempt is no longer the run's running attempt (queued again or failed meanwhile)."""


def execute(run_id: int) -> AnalysisRun:
    """Run the plan for a queued run; a user error (no data, tampered snapshot) fails it with the reason.

    A run that is not queued (done, failed, or running in another worker) is returned as it is.
    """
    run = AnalysisRun.objects.select_related("snapshot").get(pk=run_id)
    attempt = restarts.claim(run, progress=0.0, message="", error="")
    if attempt is None:
        return run
    with restarts.heartbeat(restarts.current(run, attempt), f"analysis-run-{run.pk}"):
        try:
            tables = load_snapshot(run.snapshot_id)
            protocol = protocol_of(run.snapshot)
            results = run_plan(
                protocol,
                tables,
                seed=run.seed,
                snapshot_hash=run.snapshot.manifest_sha256,
                snapshot=snapshot_provenance(run.snapshot),
                progress=_progress(run, attempt),
            )
            text = to_json(results)
            _finish(run, attempt, AnalysisRun.DONE, results=json.loads(text),
                    sha=hashlib.sha256(text.encode()).hexdigest())  # fmt: skip
        except _SupersededError:
            log.warning("analysis run %s: attempt %s superseded, its results not kept", run.pk, attempt)
        except UserError as problem:
            _fail(run, attempt, str(problem))
            raise
        except Exception as problem:  # a failed fit must not leave the run "running" for ever
            _fail(run, attempt, f"{type(problem).__name__}: {problem}")
            raise
    run.refresh_from_db()
    return run


def protocol_of(snapshot: Snapshot):
    """The protocol the snapshot was taken under (the active one if that version is not stored)."""
    from trialdesk.protocol import Protocol

    version = ProtocolVersion.objects.filter(content_hash=snapshot.protocol_hash).first()
    return active_protocol() if version is None else Protocol.model_validate(version.document)


def _finish(
    run: AnalysisRun,
    attempt: int,
    status: str,
    *,
    error: str = "",
    results: dict[str, Any] | None = None,
    sha: str = "",
) -> None:
    """The attempt's outcome and its ledger entry, together; none if the attempt was superseded."""
    with transaction.atomic():
        marked = restarts.current(run, attempt).update(
            status=status,
            error=error,
            results=results,
            results_sha256=sha,
            finished_at=clock.now(),
            provenance=(results or {}).get("provenance"),
            progress=1.0 if status == AnalysisRun.DONE else F("progress"),
            message="done" if status == AnalysisRun.DONE else "failed",
        )
        if not marked:
            raise _SupersededError
        _record(run, status, sha=sha, error=error)


def _fail(run: AnalysisRun, attempt: int, error: str) -> None:
    try:
        _finish(run, attempt, AnalysisRun.FAILED, error=error)
    except _SupersededError:
        log.warning("analysis run %s: attempt %s failed after it was superseded", run.pk, attempt)


def _record(run: AnalysisRun, status: str, *, sha: str = "", error: str = "") -> None:
    append(
        Context(actor=run.created_by, channel="system"),
        action="update",
        entity="analysis-run",
        entity_id=str(run.pk),
        new={"status": status, "results_sha256": sha, "error": error[:500]},
    )


def interrupted_message(count: int) -> str:
    """Why a run was failed after its worker stopped ``count`` times, stored (like the run's other errors)
    in the site's language; the run's page shows the same message in the reader's."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(
            "the run was interrupted %(count)s times (the background worker stopped while it ran); no "
            "results were stored. Start the run again, or run the analysis with `trialdesk analyse`."
        ) % {"count": count}


RESTART = restarts.Restart(
    task="trialdesk.apps.analysis.tasks.analyse_run",
    requeued=lambda run: {"progress": 0.0, "message": "", "interruptions": F("interruptions") + 1},
    failed=lambda run: {
        "error": interrupted_message(run.attempts),
        "message": "failed",
        "interruptions": F("interruptions") + 1,
    },
    record_failed=lambda run: _record(run, AnalysisRun.FAILED, error=interrupted_message(run.attempts)),
)


def recover_interrupted(now: dt.datetime | None = None) -> list[int]:
    """Queue again, or fail, the runs whose worker has been silent longer than ``restarts.stale_after()``
    (``trialdesk worker`` calls this); the ids of the runs acted on."""
    return restarts.recover(AnalysisRun.objects.all(), RESTART, now)


def run_now(context: Context, snapshot_id: str | None = None, *, seed: int | None = None) -> AnalysisRun:
    """Create and execute a run in this process (the command line does this)."""
    run = create_run(context, snapshot_id, seed=seed)
    return execute(run.pk)


def latest_done(snapshot: Snapshot) -> AnalysisRun | None:
    return AnalysisRun.objects.filter(snapshot=snapshot, status=AnalysisRun.DONE).first()
