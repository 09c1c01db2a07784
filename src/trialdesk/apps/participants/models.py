from django.db import models

from .status import CHOICES, State


class Participant(models.Model):
    """A screened person under a pseudonymous trial id (site prefix + number, e.g. BAL-0007).

    Identifying data live apart, encrypted, in :class:`PersonalData`. ``status`` is written only by
    ``services.transition``, which also writes a :class:`StatusEvent` and the ledger.
    """

    trial_id = models.CharField(max_length=20, unique=True)
    site = models.ForeignKey("trial.Site", on_delete=models.PROTECT, related_name="participants")
    number = models.PositiveIntegerField(help_text="running number within the site")
    status = models.CharField(max_length=20, choices=CHOICES, default=State.SCREENED.value)
    created_at = models.DateTimeField()
    protocol_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("site__code", "number")
        constraints = (models.UniqueConstraint(fields=["site", "number"], name="one_number_per_site"),)

    def __str__(self) -> str:
        return self.trial_id

    @property
    def state(self) -> State:
        return State(self.status)


class PersonalData(models.Model):
    """The key table: CPR number, name and contact, encrypted at rest (Fernet).

    ``cpr_fingerprint`` is a keyed HMAC of the normalised CPR number, unique, so a person cannot be
    registered twice and duplicates are found without decrypting anyone.
    """

    participant = models.OneToOneField(Participant, on_delete=models.PROTECT, related_name="personal_data")
    cpr_fingerprint = models.CharField(max_length=64, unique=True)
    cpr_encrypted = models.TextField()
    name_encrypted = models.TextField()
    contact_encrypted = models.TextField(blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "personal data"

    def __str__(self) -> str:
        # Never the data itself.
        return f"personal data of {self.participant_id}"


class StatusEvent(models.Model):
    """One applied transition of the status pipeline; CONSORT counts are queries over these rows."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="status_events")
    from_state = models.CharField(max_length=20, choices=CHOICES, blank=True)
    to_state = models.CharField(max_length=20, choices=CHOICES)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    reason = models.TextField(blank=True)
    protocol_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("at", "id")
        indexes = (models.Index(fields=["to_state"]),)

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.from_state or '-'} -> {self.to_state}"
