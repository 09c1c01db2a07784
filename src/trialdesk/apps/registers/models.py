from django.db import models

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
