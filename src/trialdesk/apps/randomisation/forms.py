from django import forms
from django.utils.translation import gettext_lazy as _


class ConfirmRandomisation(forms.Form):
    confirm = forms.BooleanField(
        label=_("I have checked eligibility, consent and baseline, and want to randomise now"), required=True
    )


class UploadListForm(forms.Form):
    label = forms.CharField(max_length=200, required=False)
    file = forms.FileField(label=_("Allocation list (CSV)"))


class GenerateListForm(forms.Form):
    label = forms.CharField(max_length=200, required=False)
    seed = forms.IntegerField(
        min_value=0, help_text=_("Keep it with the trial master file; never tell the sites.")
    )
    per_stratum = forms.IntegerField(min_value=1, max_value=10_000, label=_("Slots per stratum (at least)"))


class ActivateListForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class UnblindingRequestForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                             help_text=_("The clinical emergency that needs the allocation."))  # fmt: skip


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=(("approve", _("Approve")), ("refuse", _("Refuse"))), widget=forms.RadioSelect
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    password = forms.CharField(widget=forms.PasswordInput, label=_("Your password (to confirm it is you)"),
                               required=False)  # fmt: skip
