from django import forms
from django.utils.translation import gettext_lazy as _

from .status import State

#: Status changes a coordinator records by hand; the rest follow from screening, consent, baseline
#: and randomisation, which have their own pages.
MANUAL_STATES = (State.IN_FOLLOW_UP, State.COMPLETED, State.LOST_TO_FOLLOW_UP, State.DIED)


class StatusForm(forms.Form):
    to_state = forms.ChoiceField(label=_("New status"), choices=[(s.value, s.label) for s in MANUAL_STATES])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class PersonalDataForm(forms.Form):
    cpr = forms.CharField(label=_("CPR number"), max_length=11, help_text=_("DDMMYY-SSSS"))
    name = forms.CharField(label=_("Full name"), max_length=200)
    contact = forms.CharField(label=_("Contact (phone, address)"), max_length=300, required=False)
    reason = forms.CharField(label=_("Reason for the correction"), widget=forms.Textarea(attrs={"rows": 2}))
