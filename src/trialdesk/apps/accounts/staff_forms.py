"""Forms of the administrator's staff pages. They only collect input: the services check it (the password
policy, sites, blinding) and their refusals are shown at these forms' fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from trialdesk.apps.trial.models import Site

from .roles import Role
from .staff import STATUSES


def _role_choices() -> list[tuple[str, str]]:
    return [(role.value, role.label) for role in Role]


class _Reason(forms.Form):
    # Not required here: the service says when a reason is needed, at this field.
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip


class GrantRoleForm(_Reason):
    role = forms.ChoiceField(label=_("Role"), choices=_role_choices)
    site = forms.ModelChoiceField(
        label=_("Site"), queryset=Site.objects.all(), to_field_name="code", required=False,
        empty_label=_("all sites"),
        help_text=_("Site coordinators, outcome assessors and IMR facilitators work at one site."),
    )
    unblinded = forms.BooleanField(
        label=_("Named unblinded (may see allocations)"), required=False,
        help_text=_("Only data managers, statisticians, investigators and monitors; a reason is required."),
    )
    personal_data = forms.BooleanField(label=_("Holds the personal-data key (CPR, names)"), required=False)
    field_order = ["role", "site", "unblinded", "personal_data", "reason"]


class _NewPassword(forms.Form):
    password = forms.CharField(label=_("Password"), strip=False, required=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_again = forms.CharField(label=_("Password again"), strip=False, required=False,
                                     widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password", "") != data.get("password_again", ""):
            self.add_error("password_again", _("the two passwords differ"))
        return data


class AddStaffForm(_NewPassword, GrantRoleForm):
    username = forms.CharField(label=_("Username"), max_length=150, required=False)
    full_name = forms.CharField(label=_("Full name"), max_length=300, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    field_order = ["username", "full_name", "email", "password", "password_again",
                   "role", "site", "unblinded", "personal_data", "reason"]  # fmt: skip


class SetPasswordForm(_NewPassword, _Reason):
    field_order = ["password", "password_again", "reason"]


class ReasonForm(_Reason):
    pass


class DetailsForm(_Reason):
    full_name = forms.CharField(label=_("Full name"), max_length=300, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    field_order = ["full_name", "email", "reason"]


class StaffFilter(forms.Form):
    status = forms.ChoiceField(
        label=_("Show"), required=False,
        choices=list(zip(STATUSES, (_("active accounts"), _("deactivated accounts"), _("all accounts")),
                         strict=True)),
    )
    role = forms.ChoiceField(label=_("Role"), required=False,
                             choices=lambda: [("", _("any role")), *_role_choices()])  # fmt: skip
