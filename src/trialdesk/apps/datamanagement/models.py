"""Queries, source-data verification, casebook signatures and locks.

Written only by this app's services, each of which appends to the ledger in the same transaction.
Verification and signature rows keep the SHA-256 of what was verified or signed; whether they still hold
is computed by comparing it with the data as they are now (see :mod:`.content`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

OPEN, ANSWERED, CLOSED = "open", "answered", "closed"


class Query(models.Model):
    """A question to the site about one field of one participant's data (a discrepancy)."""

    STATUSES = ((OPEN, "open"), (ANSWERED, "answered"), (CLOSED, "closed"))
    ORIGINS = (("manual", _("raised by hand")), ("automatic", _("raised by an edit check")))

    participant = models.ForeignKey("participants.Participant", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(
        "trial.Site",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="the participant's site, for site-scoped lists",
    )
    visit = models.ForeignKey(
        "assessments.Visit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    instrument = models.CharField(max_length=40, blank=True)
    field = models.CharField(max_length=60, blank=True, help_text="item code, score name or assessed_on")
    origin = models.CharField(max_length=10, choices=ORIGINS)
    check_code = models.CharField(max_length=80, blank=True, help_text="the edit check, for automatic ones")
    status = models.CharField(max_length=10, choices=STATUSES, default=OPEN)
    raised_by = models.CharField(max_length=150)
    raised_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-raised_at", "-id")
        indexes = (models.Index(fields=["site", "status"]), models.Index(fields=["participant", "status"]))
        verbose_name_plural = "queries"

    def __str__(self) -> str:
        return f"query #{self.pk} on {self.target}"

    @property
    def target(self) -> str:
        parts = [
            self.participant.trial_id,
            self.visit.code if self.visit_id else "",
            self.instrument,
            self.field,
        ]
        return " / ".join(part for part in parts if part)


class QueryMessage(models.Model):
    """One entry in a query's thread; the thread is kept whole through every re-opening."""

    KINDS = (
        ("raise", _("raised")),
        ("answer", _("answered")),
        ("close", _("closed")),
        ("reopen", _("re-opened")),
        ("auto-close", _("closed by the edit check")),
    )

    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=12, choices=KINDS)
    author = models.CharField(max_length=150)
    at = models.DateTimeField()
    text = models.TextField()

    class Meta:
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.author}"


class SourceVerification(models.Model):
    """A monitor's mark that a form matches its source; it holds while the form's content hash matches."""

    assessment = models.ForeignKey("assessments.Assessment", on_delete=models.PROTECT, related_name="+")
    verified_by = models.CharField(max_length=150)
    verified_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ("-verified_at", "-id")

    def __str__(self) -> str:
        return f"SDV of assessment {self.assessment_id} by {self.verified_by}"


MEANING = "I approve these data"


class CasebookSignature(models.Model):
    """An investigator's electronic signature of a participant's casebook (21 CFR 11.50 manifest)."""

    participant = models.ForeignKey("participants.Participant", on_delete=models.PROTECT, related_name="+")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(max_length=300)
    signed_at = models.DateTimeField(help_text="UTC")
    meaning = models.CharField(max_length=100, default=MEANING)
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the casebook as signed")

    class Meta:
        ordering = ("-signed_at", "-id")

    def __str__(self) -> str:
        return f"signature of {self.participant_id}'s casebook by {self.printed_name}"


class Lock(models.Model):
    """Data made read-only: one form, one participant, one visit across all participants, or everything.

    ``key`` names the scope (``form:BAL-0001/m9/panss``, ``participant:BAL-0001``, ``visit:m9``,
    ``database``); at most one active lock per key. A lock is lifted only by an approved unlock request.
    """

    SCOPES = (
        ("form", "form"),
        ("participant", "participant"),
        ("visit", "visit, all participants"),
        ("database", "whole database"),
    )

    scope = models.CharField(max_length=12, choices=SCOPES)
    key = models.CharField(max_length=160)
    participant = models.ForeignKey(
        "participants.Participant", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    visit_code = models.CharField(max_length=40, blank=True)
    instrument = models.CharField(max_length=40, blank=True)
    reason = models.TextField()
    locked_by = models.CharField(max_length=150)
    locked_at = models.DateTimeField()
    unlocked_at = models.DateTimeField(null=True, blank=True)
    snapshot_id = models.CharField(max_length=80, blank=True, help_text="taken when the database was locked")

    class Meta:
        ordering = ("-locked_at", "-id")
        constraints = (
            models.UniqueConstraint(
                fields=["key"], condition=Q(unlocked_at__isnull=True), name="one_active_lock_per_key"
            ),
        )

    def __str__(self) -> str:
        return f"lock of {self.describe()}"

    @property
    def active(self) -> bool:
        return self.unlocked_at is None

    def describe(self) -> str:
        if self.scope == "database":
            return "the whole database"
        if self.scope == "visit":
            return f"visit {self.visit_code} of every participant"
        if self.scope == "participant":
            return f"participant {self.key.split(':', 1)[1]}"
        return f"form {self.key.split(':', 1)[1]}"


class UnlockRequest(models.Model):
    """Asking to lift a lock: needs a reason, and approval by a second person holding approve-unlock."""

    STATES = (("pending", "pending"), ("approved", "approved"), ("refused", "refused"))

    lock = models.ForeignKey(Lock, on_delete=models.PROTECT, related_name="requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    reason = models.TextField()
    state = models.CharField(max_length=10, choices=STATES, default="pending")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ("-requested_at", "-id")

    def __str__(self) -> str:
        return f"unlock request #{self.pk} ({self.state})"
