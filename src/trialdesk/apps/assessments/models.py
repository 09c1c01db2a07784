"""Visits, assessments (item responses and scores), blinding records and self-report links.

Written only by :mod:`.services`, which validates, writes and appends to the ledger in one transaction.
Baseline characteristics are the ``baseline`` instrument's typed items, stored as an assessment like any
other form (see :func:`.queries.baseline_characteristics` for the typed read side).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from trialdesk.visits import Window

from .progress import COMPLETE, DRAFT, NOT_DONE


class Visit(models.Model):
    """One protocol visit of one participant, with its target date and window.

    The anchor visit (month 0, the baseline) has no target until its first form is saved; its date then
    fixes the targets and windows of the other visits. ``done_on`` is set once every instrument is
    resolved (see :mod:`.progress`); open, overdue and upcoming depend on today and are computed.
    """

    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="visits"
    )
    code = models.CharField(max_length=40)
    label = models.CharField(max_length=200)
    sequence = models.PositiveSmallIntegerField(help_text="position in the protocol's visit list")
    month = models.FloatField()
    before_randomisation = models.BooleanField(default=False)
    instruments = models.JSONField(help_text="instrument codes due at this visit, from the protocol")
    target = models.DateField(null=True, blank=True)
    opens = models.DateField(null=True, blank=True)
    closes = models.DateField(null=True, blank=True)
    booked_on = models.DateField(null=True, blank=True)
    done_on = models.DateField(null=True, blank=True, help_text="the visit's date, once finished")
    missed_reason = models.TextField(blank=True)
    protocol_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("participant", "sequence")
        constraints = (models.UniqueConstraint(fields=["participant", "code"], name="one_visit_per_code"),)

    def __str__(self) -> str:
        return f"{self.participant_id} {self.code}"

    @property
    def anchor(self) -> bool:
        return self.month == 0

    @property
    def window(self) -> Window | None:
        if self.target is None or self.opens is None or self.closes is None:
            return None
        return Window(self.target, self.opens, self.closes)

    @property
    def missed(self) -> bool:
        return bool(self.missed_reason)


class ProtocolDeviation(models.Model):
    """A departure from the protocol found by a service (e.g. a visit done out of its window)."""

    KINDS = (("visit_out_of_window", "visit done out of window"),)

    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="assessment_deviations"
    )
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="deviations"
    )
    kind = models.CharField(max_length=40, choices=KINDS)
    occurred_on = models.DateField()
    detail = models.TextField()
    recorded_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField()
    protocol_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ("recorded_at", "id")
        constraints = (
            models.UniqueConstraint(fields=["visit", "kind"], name="one_deviation_per_visit_kind"),
        )

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.get_kind_display()}"


class Assessment(models.Model):
    """One instrument at one visit: draft, complete (scored) or not done (with a reason)."""

    STATUSES = ((DRAFT, "draft"), (COMPLETE, "complete"), (NOT_DONE, "not done"))
    SOURCES = (("staff", "entered by staff"), ("link", "completed by the participant through a link"))

    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="assessments"
    )
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="assessments")
    instrument = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=STATUSES)
    not_done_reason = models.TextField(blank=True)
    assessed_on = models.DateField(null=True, blank=True)
    entered_by = models.CharField(max_length=150)
    source = models.CharField(max_length=10, choices=SOURCES, default="staff")
    link = models.ForeignKey(
        "SelfReportLink", null=True, blank=True, on_delete=models.PROTECT, related_name="assessments"
    )
    protocol_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("visit", "id")
        constraints = (
            models.UniqueConstraint(
                fields=["visit", "instrument"], name="one_assessment_per_visit_instrument"
            ),
        )

    def __str__(self) -> str:
        return f"{self.participant_id} {self.instrument} ({self.status})"

    def values(self) -> dict[str, int | float | str]:
        """Item code -> stored value (missing items absent)."""
        return {response.item: response.value for response in self.responses.all()}


class ItemResponse(models.Model):
    """One answered item. Missing items have no row; numbers and text are kept in their own columns."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="responses")
    item = models.CharField(max_length=40)
    number = models.FloatField(null=True, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        ordering = ("assessment", "id")
        constraints = (models.UniqueConstraint(fields=["assessment", "item"], name="one_response_per_item"),)

    def __str__(self) -> str:
        return f"{self.assessment_id} {self.item}"

    @property
    def value(self) -> int | float | str:
        if self.number is None:
            return self.text
        return int(self.number) if float(self.number).is_integer() else self.number


class Score(models.Model):
    """A computed score of a complete assessment; ``value`` is None when the missing-item rule says so."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="scores")
    name = models.CharField(max_length=40)
    value = models.FloatField(null=True, blank=True)
    prorated = models.BooleanField(default=False)
    category = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ("assessment", "id")
        constraints = (models.UniqueConstraint(fields=["assessment", "name"], name="one_score_per_name"),)

    def __str__(self) -> str:
        return f"{self.assessment_id} {self.name}"


class AllocationGuess(models.Model):
    """The assessor's guess of a participant's arm at a visit after randomisation (for the blinding index)."""

    DONT_KNOW = "dont_know"

    participant = models.ForeignKey("participants.Participant", on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="guesses")
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    guess = models.CharField(max_length=40, help_text="an arm code from the protocol, or dont_know")
    confidence = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 (none) to 5 (certain)")
    guessed_on = models.DateField()
    recorded_at = models.DateTimeField()
    protocol_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ("visit", "id")
        constraints = (
            models.UniqueConstraint(fields=["visit", "assessor"], name="one_guess_per_visit_assessor"),
        )

    def __str__(self) -> str:
        # Never the guess itself: string forms reach logs and error pages.
        return f"allocation guess for {self.participant_id} at {self.visit.code}"


class UnblindingIncident(models.Model):
    """An assessor learned (or may have learned) a participant's allocation."""

    HOW = (
        ("participant_disclosed", "the participant disclosed it"),
        ("relative_disclosed", "a relative or carer disclosed it"),
        ("staff_disclosed", "a clinician or other staff member disclosed it"),
        ("record_seen", "seen in a record or document"),
        ("overheard", "overheard or seen at the centre"),
        ("other", "other"),
    )

    participant = models.ForeignKey("participants.Participant", on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the assessor whose blinding was broken",
    )
    occurred_on = models.DateField()
    how = models.CharField(max_length=30, choices=HOW)
    description = models.TextField(blank=True, help_text="never shown to blinded staff")
    assessor_replaced = models.BooleanField()
    reported_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField()
    protocol_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ("occurred_on", "id")

    def __str__(self) -> str:
        return f"unblinding incident #{self.pk} for {self.participant_id}"


class SelfReportLink(models.Model):
    """A one-time link a participant opens without logging in to fill in their own questionnaires.

    Only the SHA-256 of the token is stored. The link serves the listed instruments of one visit while
    they are open; it is used up when the last of them is submitted or the participant finishes, and it
    refuses everything after it expires.
    """

    participant = models.ForeignKey("participants.Participant", on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="links")
    instruments = models.JSONField()
    token_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.CharField(max_length=150)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    protocol_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ("-issued_at",)

    def __str__(self) -> str:
        return f"self-report link #{self.pk} for {self.participant_id}"

    def expired(self, now: dt.datetime) -> bool:
        return now >= self.expires_at
