from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop


class AllocationList(models.Model):
    """A stratified allocation sequence, uploaded or generated in the app; one list is active at a time."""

    SOURCES = (("generated", _("generated in trialdesk")), ("uploaded", _("uploaded CSV")))

    label = models.CharField(max_length=200)
    source = models.CharField(max_length=10, choices=SOURCES)
    method = models.CharField(max_length=30, default="permuted_blocks")
    seed = models.BigIntegerField(null=True, blank=True)
    algorithm_version = models.CharField(max_length=60)
    list_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the list as generated")
    per_stratum = models.PositiveIntegerField()
    protocol_hash = models.CharField(max_length=64)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    active = models.BooleanField(default=False)

    class Meta:
        ordering = ("-created_at",)
        constraints = (
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="one_active_list"
            ),
        )

    def __str__(self) -> str:
        return f"{self.label} ({self.list_hash[:12]})"


class AllocationSlot(models.Model):
    """One position of the sequence. Unused slots are never shown to anyone in the app."""

    allocation_list = models.ForeignKey(AllocationList, on_delete=models.PROTECT, related_name="slots")
    stratum = models.CharField(max_length=120)
    sequence = models.PositiveIntegerField()
    block = models.PositiveIntegerField()
    block_size = models.PositiveIntegerField()
    arm = models.CharField(max_length=40)
    participant = models.OneToOneField(
        "participants.Participant", null=True, blank=True, on_delete=models.PROTECT, related_name="slot"
    )

    class Meta:
        ordering = ("allocation_list", "stratum", "sequence")
        constraints = (
            models.UniqueConstraint(
                fields=["allocation_list", "stratum", "sequence"], name="one_slot_per_position"
            ),
        )
        indexes = (models.Index(fields=["allocation_list", "stratum", "participant"]),)

    def __str__(self) -> str:
        # No arm: string forms end up in logs and error pages.
        return f"slot {self.stratum} #{self.sequence}"


class MinimisationState(models.Model):
    """The seeded generator behind minimisation: its state is stored after every allocation."""

    seed = models.BigIntegerField()
    algorithm_version = models.CharField(max_length=60)
    generator_state = models.JSONField()
    protocol_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"minimisation state (seed {self.seed})"


class Allocation(models.Model):
    """A participant's arm: the one record later apps read, whatever the method."""

    participant = models.OneToOneField(
        "participants.Participant", on_delete=models.PROTECT, related_name="allocation"
    )
    arm = models.CharField(max_length=40)
    stratum = models.CharField(max_length=120)
    method = models.CharField(max_length=30)
    slot = models.OneToOneField(
        AllocationSlot, null=True, blank=True, on_delete=models.PROTECT, related_name="allocation"
    )
    generator_state_before = models.JSONField(
        null=True, blank=True, help_text="minimisation: the generator state it drew from"
    )
    allocated_at = models.DateTimeField()
    allocated_by = models.CharField(max_length=150)
    protocol_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"allocation of {self.participant_id}"


class UnblindingRequest(models.Model):
    """An emergency unblinding: requested with a reason, approved by another person, then revealed."""

    # Marked for the catalogue (pages and refusals show them translated); stored as they are.
    STATES = (("pending", gettext_noop("pending")), ("approved", gettext_noop("approved")),
              ("refused", gettext_noop("refused")))

    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="unblinding_requests"
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    requested_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=STATES, default="pending")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ("-requested_at",)

    def __str__(self) -> str:
        return f"unblinding request #{self.pk} for {self.participant_id} ({self.state})"
