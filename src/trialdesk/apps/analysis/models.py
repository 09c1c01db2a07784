"""One run of the analysis plan on one snapshot: queued, running (with progress), done or failed.

A run in the background worker is run as attempts (``trialdesk.apps.restarts``): while one runs it beats
``heartbeat_at``; a run whose worker stopped is queued again once, then failed (``interruptions``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_noop


class AnalysisRun(models.Model):
    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    # Marked for the catalogue (pages show them with {% translate run.status %}); stored as they are.
    STATUSES = ((QUEUED, gettext_noop("queued")), (RUNNING, gettext_noop("running")),
                (DONE, gettext_noop("done")), (FAILED, gettext_noop("failed")))

    snapshot = models.ForeignKey("snapshots.Snapshot", on_delete=models.PROTECT, related_name="analysis_runs")
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED)
    progress = models.FloatField(default=0.0, help_text="share done, 0-1")
    message = models.CharField(max_length=200, blank=True, help_text="what the run is doing now")
    seed = models.BigIntegerField()
    results = models.JSONField(null=True, blank=True, help_text="the results document (analysis JSON)")
    results_sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the canonical JSON")
    provenance = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True, help_text="background task id, if queued")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="times the run was started")
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="last sign of life of its worker")
    interruptions = models.PositiveSmallIntegerField(
        default=0, help_text="times its worker stopped while it ran (queued again, then failed)"
    )

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (models.Index(fields=["status"]),)

    def __str__(self) -> str:
        return f"analysis run {self.pk} on snapshot {self.snapshot_id} ({self.status})"

    @property
    def interrupted_out(self) -> bool:
        """Failed because its worker stopped on every attempt (``restarts.recover``), not by an error."""
        return self.status == self.FAILED and 0 < self.attempts == self.interruptions
