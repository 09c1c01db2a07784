"""Forms of the IMR pages. They parse input only; the rules live in the services."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from trialdesk.apps.accounts.permissions import allowed

from .models import FidelityRating, GoalFollowUp, Group, RecoveryGoal

DATE = forms.DateInput(attrs={"type": "date"})
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def facilitator_choices(site):
    """Active users who may run sessions at ``site``."""
    probe = Group(site=site)
    users = get_user_model().objects.filter(is_active=True, memberships__isnull=False).distinct()
    return [u.pk for u in users.order_by("username") if allowed(u, "run-sessions", probe)]


class GroupForm(forms.Form):
    site = forms.ModelChoiceField(queryset=None)
    name = forms.CharField(max_length=100)
    facilitators = forms.ModelMultipleChoiceField(queryset=None, widget=forms.CheckboxSelectMultiple)
    planned_start = forms.DateField(widget=DATE)
    weekday = forms.TypedChoiceField(choices=Group.WEEKDAYS, coerce=int)
    start_time = forms.TimeField(widget=TIME, label=_("Start time (local)"))

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        ids = {pk for site in sites for pk in facilitator_choices(site)}
        self.fields["facilitators"].queryset = (
            get_user_model().objects.filter(pk__in=ids).order_by("username")
        )


class PlaceForm(forms.Form):
    group = forms.ModelChoiceField(queryset=None)
    on = forms.DateField(widget=DATE, label=_("Placed from"))

    def __init__(self, *args, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups


class LeaveForm(forms.Form):
    on = forms.DateField(widget=DATE, label=_("From"))
    reason = forms.CharField(max_length=500)
    to = forms.ModelChoiceField(queryset=None, required=False,
                                label=_("Move to group (empty: leave the group)"))

    def __init__(self, *args, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = groups


class GroupActionForm(forms.Form):
    ACTIONS = (
        ("schedule", _("generate schedule")),
        ("start", _("start")),
        ("finish", _("finish")),
        ("stop", _("stop")),
    )
    action = forms.ChoiceField(choices=ACTIONS)
    on = forms.DateField(widget=DATE, required=False)
    reason = forms.CharField(max_length=500, required=False)
    skip_holidays = forms.BooleanField(required=False, label=_("Leave out bank holidays (else mark them)"))


class HoldForm(forms.Form):
    minutes = forms.IntegerField(min_value=1, max_value=600)
    modules = forms.TypedMultipleChoiceField(coerce=int, widget=forms.CheckboxSelectMultiple, required=False)
    facilitators_present = forms.ModelMultipleChoiceField(queryset=None, widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(max_length=500, required=False, label=_("Reason (when changing a held session)"))

    def __init__(self, *args, modules, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["modules"].choices = [(m.number, f"{m.number}. {m.title}") for m in modules]
        self.fields["facilitators_present"].queryset = people


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500)


class RescheduleForm(forms.Form):
    day = forms.DateField(widget=DATE, label=_("New date"))
    at = forms.TimeField(widget=TIME, label=_("New time (local)"))
    reason = forms.CharField(max_length=500)


class GoalForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Recovery goal"))
    set_on = forms.DateField(widget=DATE)


class StepForm(forms.Form):
    goal = forms.IntegerField(widget=forms.HiddenInput)
    text = forms.CharField(max_length=500, label=_("Step"))


class GoalStatusForm(forms.Form):
    goal = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=RecoveryGoal.STATUSES)
    reason = forms.CharField(max_length=500)


class FollowUpForm(forms.Form):
    goal = forms.IntegerField(widget=forms.HiddenInput)
    session = forms.ModelChoiceField(queryset=None)
    progress = forms.ChoiceField(choices=GoalFollowUp.PROGRESS)
    home_assignment_done = forms.NullBooleanField(
        widget=forms.Select(
            choices=(("unknown", _("no assignment set")), ("true", _("done")), ("false", _("not done")))
        )
    )
    note = forms.CharField(max_length=1000, required=False)
    reason = forms.CharField(max_length=500, required=False, label=_("Reason (when changing)"))

    def __init__(self, *args, sessions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["session"].queryset = sessions


class FidelityForm(forms.Form):
    group = forms.ModelChoiceField(queryset=None)
    rated_on = forms.DateField(widget=DATE)
    source = forms.ChoiceField(choices=FidelityRating.SOURCES)
    double_of = forms.ModelChoiceField(queryset=None, required=False, label=_("Second rating of"))

    def __init__(self, *args, groups, firsts, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups
        self.fields["double_of"].queryset = firsts
        self.item_names = []
        for code, item in items.items():
            name = f"item_{code}"
            # Typed as text so the instrument, not the form, gives the one message for a value out of range.
            self.fields[name] = forms.CharField(
                label=f"{code}. {item.label}",
                required=False,
                widget=forms.NumberInput(attrs={"step": 1, "min": item.minimum, "max": item.maximum}),
            )
            self.item_names.append(name)

    def items(self) -> dict[str, str]:
        return {name.removeprefix("item_"): self.cleaned_data[name] for name in self.item_names}


class DoublePlanForm(forms.Form):
    share = forms.FloatField(min_value=0, max_value=1, label=_("Share of occasions double-rated (0-1)"))
    seed = forms.IntegerField(required=False, help_text=_("empty: a random seed is drawn and stored"))
