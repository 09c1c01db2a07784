"""IMR delivery: groups, their members and sessions, attendance, recovery goals and fidelity ratings.

Written only by :mod:`trialdesk.apps.intervention.services`, which checks the rules and appends to the
ledger in the same transaction. String forms never name an arm.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.dates import WEEKDAYS as DAY_NAMES


class Group(models.Model):
    FORMING, RUNNING, FINISHED, STOPPED = "forming", "running", "finished", "stopped"
    STATUSES = ((FORMING, "forming"), (RUNNING, "running"), (FINISHED, "finished"), (STOPPED, "stopped"))
    WEEKDAYS = tuple(
        enumerate(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))
    )

    site = models.ForeignKey("trial.Site", on_delete=models.PROTECT, related_name="imr_groups")
    name = models.CharField(max_length=100)
    facilitators = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="imr_groups")
    capacity = models.PositiveSmallIntegerField()
    planned_start = models.DateField()
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    start_time = models.TimeField(help_text="local wall time in the trial's time zone")
    status = models.CharField(max_length=10, choices=STATUSES, default=FORMING)
    status_reason = models.TextField(blank=True)
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    protocol_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("site__code", "planned_start", "name")
        constraints = (models.UniqueConstraint(fields=["site", "name"], name="imr_group_name_per_site"),)

    def __str__(self) -> str:
        return f"{self.name} ({self.site.code})"

    @property
    def weekday_name(self) -> str:
        # Django's own weekday names (0 = Monday, as here), translated into the active language.
        return str(DAY_NAMES[self.weekday])

    @property
    def active_members(self) -> int:
        return self.memberships.filter(left_on__isnull=True).count()


class GroupMembership(models.Model):
    """A participant's time in a group; a move ends one membership and starts another."""

    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="memberships")
    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="imr_memberships"
    )
    placed_on = models.DateField()
    left_on = models.DateField(null=True, blank=True)
    reason = models.TextField(blank=True, help_text="why the participant left or moved")
    placed_by = models.CharField(max_length=150)

    class Meta:
        ordering = ("placed_on", "id")
        constraints = (
            models.UniqueConstraint(
                fields=["participant"], condition=Q(left_on__isnull=True), name="one_active_imr_group"
            ),
        )

    def __str__(self) -> str:
        return f"{self.participant_id} in group {self.group_id}"

    def active_on(self, day) -> bool:
        return self.placed_on <= day and (self.left_on is None or day < self.left_on)


class Session(models.Model):
    PLANNED, HELD, CANCELLED, RESCHEDULED = "planned", "held", "cancelled", "rescheduled"
    STATUSES = ((PLANNED, "planned"), (HELD, "held"), (CANCELLED, "cancelled"), (RESCHEDULED, "rescheduled"))

    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="sessions")
    number = models.PositiveSmallIntegerField()
    starts_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=STATUSES, default=PLANNED)
    reason = models.TextField(blank=True, help_text="why it was cancelled or rescheduled")
    moved_from = models.DateTimeField(null=True, blank=True)
    bank_holiday = models.CharField(max_length=100, blank=True)
    held_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    modules = models.JSONField(default=list, help_text="curriculum module numbers covered")
    facilitators_present = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)

    class Meta:
        ordering = ("group", "number")
        constraints = (models.UniqueConstraint(fields=["group", "number"], name="one_session_number"),)

    def __str__(self) -> str:
        return f"session {self.number} of group {self.group_id}"

    @property
    def site_id(self):
        return self.group.site_id


class Attendance(models.Model):
    PRESENT, WITH_NOTICE, WITHOUT_NOTICE = "present", "absent_with_notice", "absent_without_notice"
    CHOICES = (
        (PRESENT, "present"),
        (WITH_NOTICE, "absent with notice"),
        (WITHOUT_NOTICE, "absent without notice"),
    )

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="attendance")
    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="imr_attendance"
    )
    status = models.CharField(max_length=24, choices=CHOICES)
    recorded_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=["session", "participant"], name="one_attendance_per_session"),
        )

    def __str__(self) -> str:
        return f"{self.participant_id} at session {self.session_id}: {self.status}"


class RecoveryGoal(models.Model):
    ACTIVE, ACHIEVED, DROPPED = "active", "achieved", "dropped"
    STATUSES = ((ACTIVE, "active"), (ACHIEVED, "achieved"), (DROPPED, "dropped"))

    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="recovery_goals"
    )
    text = models.TextField()
    set_on = models.DateField()
    status = models.CharField(max_length=10, choices=STATUSES, default=ACTIVE)
    created_by = models.CharField(max_length=150)

    class Meta:
        ordering = ("set_on", "id")

    def __str__(self) -> str:
        return f"goal {self.pk} of {self.participant_id}"

    @property
    def site_id(self):
        return self.participant.site_id


class GoalStep(models.Model):
    goal = models.ForeignKey(RecoveryGoal, on_delete=models.PROTECT, related_name="steps")
    order = models.PositiveSmallIntegerField()
    text = models.TextField()
    done_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ("goal", "order")
        constraints = (models.UniqueConstraint(fields=["goal", "order"], name="one_step_per_order"),)

    def __str__(self) -> str:
        return f"step {self.order} of goal {self.goal_id}"


class GoalFollowUp(models.Model):
    NONE, SOME, GOOD, REACHED = "none", "some", "good", "reached"
    PROGRESS = (
        (NONE, "no progress"),
        (SOME, "some progress"),
        (GOOD, "good progress"),
        (REACHED, "step reached"),
    )

    goal = models.ForeignKey(RecoveryGoal, on_delete=models.PROTECT, related_name="follow_ups")
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="goal_follow_ups")
    progress = models.CharField(max_length=8, choices=PROGRESS)
    home_assignment_done = models.BooleanField(null=True, help_text="empty: no home assignment was set")
    note = models.TextField(blank=True)
    recorded_by = models.CharField(max_length=150)

    class Meta:
        constraints = (models.UniqueConstraint(fields=["goal", "session"], name="one_follow_up_per_session"),)

    def __str__(self) -> str:
        return f"follow-up of goal {self.goal_id} at session {self.session_id}"


class FidelityRating(models.Model):
    OBSERVATION, RECORDING = "observation", "recording"
    SOURCES = ((OBSERVATION, "observation"), (RECORDING, "session recording"))

    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="fidelity_ratings")
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rated_on = models.DateField()
    source = models.CharField(max_length=12, choices=SOURCES)
    items = models.JSONField(help_text="item code -> rating 1-5")
    score = models.FloatField()
    category = models.CharField(max_length=10)
    double_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="double",
        help_text="the first rating of the same occasion that this one double-rates",
    )
    selected_for_double = models.BooleanField(default=False)
    draw_seed = models.BigIntegerField(null=True, blank=True, help_text="seed of the double-rating draw")
    draw_algorithm = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField()
    protocol_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("rated_on", "id")

    def __str__(self) -> str:
        return f"fidelity rating {self.pk} of group {self.group_id}"

    @property
    def site_id(self):
        return self.group.site_id


class DoubleRatingPlan(models.Model):
    """Which share of fidelity occasions a second rater rates; the draws are seeded and reproducible."""

    share = models.FloatField()
    seed = models.BigIntegerField()
    algorithm = models.CharField(max_length=60)
    set_by = models.CharField(max_length=150)
    set_at = models.DateTimeField()

    class Meta:
        ordering = ("-set_at", "-id")

    def __str__(self) -> str:
        return f"double-rate {self.share:.0%} (seed {self.seed})"
