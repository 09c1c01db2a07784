from django.conf import settings
from django.db import models
from django.utils.translation import gettext_noop

KINDS = (
    ("admission", "psychiatric admission"),
    ("er_visit", "emergency-room visit"),
    ("outpatient_contact", "outpatient contact"),
)


class RegisterImport(models.Model):
    """One accepted register extract: which file, who imported it, and what was found in it.

    ``report`` is the reconciliation report (see ``services.import_register``); it holds trial ids, row
    numbers and masked CPR numbers only.
    """

    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    imported_by = models.CharField(max_length=150)
    imported_at = models.DateTimeField()
    rows_read = models.PositiveIntegerField()
    rows_matched = models.PositiveIntegerField()
    events_created = models.PositiveIntegerField()
    events_already_present = models.PositiveIntegerField()
    report = models.JSONField()
    protocol_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("-imported_at", "-id")

    def __str__(self) -> str:
        return f"register import {self.pk} ({self.file_name})"


class RegisterEvent(models.Model):
    """One register event of a participant, linked by the pseudonymous participant only (never a CPR).

    Point events (ER visits, outpatient contacts) have ``ends_on == starts_on``. ``row_hash`` is the
    SHA-256 of trial id, kind and dates, so the same event imported twice is found, not duplicated.
    """

    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="register_events"
    )
    kind = models.CharField(max_length=20, choices=KINDS)
    starts_on = models.DateField()
    ends_on = models.DateField()
    row_hash = models.CharField(max_length=64, unique=True)
    register_import = models.ForeignKey(RegisterImport, on_delete=models.PROTECT, related_name="events")

    class Meta:
        ordering = ("participant", "starts_on", "kind", "id")
        constraints = (
            models.UniqueConstraint(
                fields=["participant", "kind", "starts_on", "ends_on"], name="one_register_event"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="event_ends_after_start"
            ),
        )

    def __str__(self) -> str:
        return f"{self.participant_id} {self.kind} {self.starts_on}..{self.ends_on}"


class RegisterImportJob(models.Model):
    """An uploaded extract waiting for, or being imported by, the background worker (``jobs``).

    The upload itself is kept outside the database (``uploads``) only until the job ends. ``error`` is for
    the key holder who started the job, in the language they uploaded in; what others read (the import's
    report, the ledger) stays in one language.
    """

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    # Marked for the catalogue (the job page shows them translated); stored as they are.
    STATUSES = ((QUEUED, gettext_noop("queued")), (RUNNING, gettext_noop("running")),
                (DONE, gettext_noop("done")), (FAILED, gettext_noop("failed")))
    STEPS = (
        ("queued", gettext_noop("waiting for the background worker")),
        ("reading", gettext_noop("reading and checking the extract")),
        ("matching", gettext_noop("matching CPR numbers to participants")),
        ("storing", gettext_noop("storing the events, all in one transaction")),
        ("requeued", gettext_noop("interrupted (the worker stopped): queued to run again")),
        ("done", gettext_noop("done")),
        ("failed", gettext_noop("failed")),
    )

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    language = models.CharField(max_length=10, help_text="the uploader's language, for the job's messages")
    file_name = models.CharField(max_length=255, help_text="as uploaded, any CPR number in it masked")
    file_sha256 = models.CharField(max_length=64)
    file_size = models.PositiveIntegerField()
    upload = models.CharField(max_length=64, blank=True, help_text="the kept upload's name (blank: removed)")
    accept_unmatched = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED)
    step = models.CharField(max_length=10, choices=STEPS, default="queued")
    progress = models.FloatField(default=0.0, help_text="share done, 0-1")
    rows_read = models.PositiveIntegerField(null=True, blank=True)
    events_to_store = models.PositiveIntegerField(null=True, blank=True)
    summary = models.JSONField(null=True, blank=True, help_text="the import's counts (services.SUMMARY)")
    register_import = models.ForeignKey(
        RegisterImport, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="last sign of life of its worker")
    finished_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = (models.Index(fields=["status"]),)

    def __str__(self) -> str:
        return f"register import job {self.pk} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in (self.QUEUED, self.RUNNING)
