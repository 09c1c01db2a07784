from django.db import models


class ConsentRecord(models.Model):
    """A participant's consent to one version of the consent document."""

    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="consents"
    )
    document_version = models.CharField(max_length=40)
    oral_on = models.DateField(null=True, blank=True)
    written_on = models.DateField(null=True, blank=True)
    taken_by = models.CharField(max_length=150, help_text="username of the staff member who took consent")
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField()
    protocol_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ("recorded_at", "id")
        constraints = (
            models.UniqueConstraint(
                fields=["participant", "document_version"], name="one_consent_per_version"
            ),
        )

    def __str__(self) -> str:
        return f"{self.participant_id} consent v{self.document_version}"


class Decline(models.Model):
    """An eligible person who declined to take part, with the protocol's reason category."""

    participant = models.OneToOneField(
        "participants.Participant", on_delete=models.PROTECT, related_name="decline"
    )
    declined_on = models.DateField()
    category = models.CharField(max_length=40)
    note = models.TextField(blank=True)
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.participant_id} declined ({self.category})"


class Withdrawal(models.Model):
    """What a participant withdrew from, and from when; honoured by ``may_collect`` from that day on."""

    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="withdrawals"
    )
    withdrawn_on = models.DateField()
    scope = models.CharField(max_length=40, help_text="protocol withdrawal scope code")
    reason = models.TextField(blank=True)
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ("withdrawn_on", "id")

    def __str__(self) -> str:
        return f"{self.participant_id} withdrew ({self.scope}) {self.withdrawn_on}"
