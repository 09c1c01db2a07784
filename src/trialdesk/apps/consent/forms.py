from django import forms

_DATE = forms.DateInput(attrs={"type": "date"})


class ConsentForm(forms.Form):
    version = forms.ChoiceField(label="Consent document version")
    oral_on = forms.DateField(label="Oral consent given on", widget=_DATE, required=False)
    written_on = forms.DateField(label="Written consent signed on", widget=_DATE, required=False)
    taken_by = forms.CharField(label="Consent taken by", max_length=150, required=False)

    def __init__(self, *args, documents, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [(d.version, f"{d.version} ({d.date}) {d.title}") for d in documents]


class DeclineForm(forms.Form):
    category = forms.ChoiceField(label="Reason for declining")
    declined_on = forms.DateField(label="Declined on", widget=_DATE)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, reasons, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [(c.code, c.label) for c in reasons]


class WithdrawalForm(forms.Form):
    scope = forms.ChoiceField(label="Withdraws from", widget=forms.RadioSelect)
    withdrawn_on = forms.DateField(label="Withdrawn on", widget=_DATE)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Only if the participant chose to give one.",
    )

    def __init__(self, *args, scopes, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = [(c.code, c.label) for c in scopes]
