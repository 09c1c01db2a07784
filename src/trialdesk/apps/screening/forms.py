"""The screening form, generated from the protocol's eligibility criteria."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trialdesk.protocol.schema import Criterion

_DATE = forms.DateInput(attrs={"type": "date"})
YES_NO = (("yes", _("Yes")), ("no", _("No")))


def criterion_field(criterion: Criterion) -> forms.Field | None:
    """One form field per criterion; age criteria are answered from the CPR number (no field)."""
    label = f"{criterion.code}. {criterion.text}"
    if criterion.answer_type == "boolean":
        return forms.ChoiceField(label=label, choices=YES_NO, widget=forms.RadioSelect, required=False)
    if criterion.answer_type == "icd10":
        codes = ", ".join(criterion.icd10)
        hint = (
            gettext("ICD-10 code(s), e.g. F20.0; separate several by commas. Counts if under: ")
            if criterion.kind == "inclusion"
            else gettext("Comorbid ICD-10 code(s) under these, or leave empty: ")
        )
        return forms.CharField(label=label, required=False, help_text=hint + codes)
    return None


class _CriteriaForm(forms.Form):
    def add_criteria(self, criteria) -> None:
        self.criteria = [c for c in criteria if criterion_field(c) is not None]
        for criterion in self.criteria:
            self.fields[criterion.code] = criterion_field(criterion)

    def answers(self) -> dict[str, object]:
        """Answers as the service takes them; empty ones are left out so it reports them as missing."""
        result: dict[str, object] = {}
        for criterion in self.criteria:
            value = self.cleaned_data.get(criterion.code)
            may_be_empty = criterion.answer_type == "icd10" and criterion.kind == "exclusion"
            if value not in (None, "") or may_be_empty:
                result[criterion.code] = value or ""
        return result


class ScreeningForm(_CriteriaForm):
    site = forms.ModelChoiceField(queryset=None, empty_label=None, label=_("Site"))
    screened_on = forms.DateField(label=_("Screening date"), widget=forms.DateInput(attrs={"type": "date"}))
    referral_source = forms.CharField(label=_("Referred by"), max_length=200, required=False)
    cpr = forms.CharField(label=_("CPR number"), max_length=11, required=False, help_text=_("DDMMYY-SSSS"))
    name = forms.CharField(label=_("Full name"), max_length=200, required=False)
    contact = forms.CharField(label=_("Contact (phone, address)"), max_length=300, required=False)

    def __init__(self, *args, sites, criteria, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.add_criteria(criteria)


class RescreeningForm(_CriteriaForm):
    screened_on = forms.DateField(label=_("Screening date"), widget=forms.DateInput(attrs={"type": "date"}))
    referral_source = forms.CharField(label=_("Referred by"), max_length=200, required=False)

    def __init__(self, *args, criteria, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_criteria(criteria)


class LogFilter(forms.Form):
    site = forms.ModelChoiceField(queryset=None, required=False, empty_label=_("All my sites"),
                                  label=_("Site"))
    date_from = forms.DateField(required=False, widget=_DATE, label=_("Date from"))
    date_to = forms.DateField(required=False, widget=_DATE, label=_("Date to"))
    verdict = forms.ChoiceField(
        required=False,
        label=_("Verdict"),
        choices=(("", _("Any")), ("eligible", _("eligible")), ("ineligible", _("ineligible"))),
    )

    def __init__(self, *args, sites, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
