from django import forms
from django.utils.translation import gettext_lazy as _

_DATE = forms.DateInput(attrs={"type": "date"})


class ConsentForm(forms.Form):
    version = forms.ChoiceField(label=_("Consent document version"))
    oral_on = forms.DateField(label=_("Oral consent given on"), widget=_DATE, required=False)
    written_on = forms.DateField(label=_("Written consent signed on"), widget=_DATE, required=False)
    taken_by = forms.CharField(label=_("Consent taken by"), max_length=150, required=False)

    def __init__(self, *args, documents, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [(d.version, f"{d.version} ({d.date}) {d.title}") for d in documents]


class DeclineForm(forms.Form):
    category = forms.ChoiceField(label=_("Reason for declining"))
    declined_on = forms.DateField(label=_("Declined on"), widget=_DATE)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, reasons, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [(c.code, c.label) for c in reasons]


class WithdrawalForm(forms.Form):
    scope = forms.ChoiceField(label=_("Withdraws from"), widget=forms.RadioSelect)
    withdrawn_on = forms.DateField(label=_("Withdrawn on"), widget=_DATE)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Only if the participant chose to give one."),
    )

    def __init__(self, *args, scopes, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = [(c.code, c.label) for c in scopes]
