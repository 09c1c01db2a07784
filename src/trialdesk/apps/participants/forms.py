from django import forms

from .status import State

#: Status changes a coordinator records by hand; the rest follow from screening, consent, baseline
#: and randomisation, which have their own pages.
MANUAL_STATES = (State.IN_FOLLOW_UP, State.COMPLETED, State.LOST_TO_FOLLOW_UP, State.DIED)


class StatusForm(forms.Form):
    to_state = forms.ChoiceField(label="New status", choices=[(s.value, s.label) for s in MANUAL_STATES])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
