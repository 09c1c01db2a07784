"""The administrator's staff pages: the list, adding an account, and one account's roles and access.

Every page needs ``manage-users``. The forms only collect input; the services in ``accounts.services``
check it and write it with its ledger entry, and a refusal is shown at its field with nothing stored.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from trialdesk.apps.participants.web import context_for, require, show_problem
from trialdesk.errors import UserError
from trialdesk.web.partials import render_page

from . import services, staff
from .models import Membership
from .staff_forms import AddStaffForm, DetailsForm, GrantRoleForm, ReasonForm, SetPasswordForm, StaffFilter

ACTION = "manage-users"


@login_required
def staff_list(request):
    require(request, ACTION)
    filters = StaffFilter(request.GET)
    status, role = "all", ""
    if filters.is_valid():
        status = filters.cleaned_data["status"] or "all"
        role = filters.cleaned_data["role"]
    rows = staff.rows(status, role)
    return render_page(request, "accounts/staff/list.html", "accounts/staff/_table.html",
                       {"rows": rows, "filters": filters})  # fmt: skip


@login_required
def add(request):
    require(request, ACTION)
    form = AddStaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            made = services.add_staff(
                data["username"], data["password"], context_for(request), role=data["role"],
                site=data["site"],
                full_name=data["full_name"], email=data["email"], unblinded=data["unblinded"],
                personal_data=data["personal_data"], reason=data["reason"],
            )
        except UserError as problem:
            show_problem(form, problem)
        else:
            messages.success(request, _("%(username)s can now log in.") % {"username": made.username})
            return redirect("staff:detail", pk=made.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/staff/add.html", {"form": form}, status=status)


def _member(pk: int):
    return get_object_or_404(get_user_model(), pk=pk)


def _detail(request, member, *, status: int = 200, **bound):
    """The account page, with any form that was just refused shown with its errors."""
    forms = {
        "details_form": DetailsForm(prefix="details",
                                    initial={"full_name": member.get_full_name(), "email": member.email}),
        "grant_form": GrantRoleForm(prefix="grant"),
        "activation_form": ReasonForm(prefix="activation"),
        "password_form": SetPasswordForm(prefix="password"),
        "two_factor_form": ReasonForm(prefix="two-factor"),
        "revoke_form": None,
        "revoking": None,
        **bound,
    }
    return render(request, "accounts/staff/detail.html",
                  {"member": member, "row": staff.row_for(member), **forms}, status=status)  # fmt: skip


def _submit(request, member, form, slot: str, act: Callable[[dict], str], **shown):
    """One form of the account page: ``act`` calls the service with the form's data and says what was
    done; that goes back to the account page as a message. A refusal shows the page again with the
    form's errors at their fields (``slot`` names the form in the page) and nothing stored."""
    if form.is_valid():
        try:
            done = act(form.cleaned_data)
        except UserError as problem:
            show_problem(form, problem)
        else:
            messages.success(request, done)
            return redirect("staff:detail", pk=member.pk)
    return _detail(request, member, status=400, **{slot: form}, **shown)


@login_required
def detail(request, pk: int):
    require(request, ACTION)
    return _detail(request, _member(pk))


@login_required
@require_POST
def details(request, pk: int):
    """Correct the name or e-mail address."""
    require(request, ACTION)
    member = _member(pk)

    def act(data: dict) -> str:
        services.update_details(member, context_for(request), full_name=data["full_name"],
                                email=data["email"], reason=data["reason"])  # fmt: skip
        return _("%(username)s's name and e-mail address are saved.") % {"username": member.username}

    return _submit(request, member, DetailsForm(request.POST, prefix="details"), "details_form", act)


@login_required
@require_POST
def grant(request, pk: int):
    require(request, ACTION)
    member = _member(pk)

    def act(data: dict) -> str:
        services.grant_role(member, data["role"], context_for(request), site=data["site"],
                            unblinded=data["unblinded"], personal_data=data["personal_data"],
                            reason=data["reason"])  # fmt: skip
        return _("Role given to %(username)s.") % {"username": member.username}

    return _submit(request, member, GrantRoleForm(request.POST, prefix="grant"), "grant_form", act)


@login_required
@require_POST
def revoke(request, pk: int):
    require(request, ACTION)
    membership = get_object_or_404(Membership.objects.select_related("user", "site"), pk=pk)

    def act(data: dict) -> str:
        services.revoke_role(membership, context_for(request), reason=data["reason"])
        return _("Role taken from %(username)s.") % {"username": membership.user.username}

    form = ReasonForm(request.POST, prefix=f"revoke-{membership.pk}")
    return _submit(request, membership.user, form, "revoke_form", act, revoking=membership.pk)


@login_required
@require_POST
def activation(request, pk: int):
    """Deactivate an active account, or reactivate a deactivated one."""
    require(request, ACTION)
    member = _member(pk)

    def act(data: dict) -> str:
        if member.is_active:
            services.deactivate_user(member, context_for(request), data["reason"])
            done = _("%(username)s is deactivated: no login, sessions ended, API tokens revoked.")
        else:
            services.reactivate_user(member, context_for(request), data["reason"])
            done = _("%(username)s is active again.")
        return done % {"username": member.username}

    return _submit(request, member, ReasonForm(request.POST, prefix="activation"), "activation_form", act)


@login_required
@require_POST
def password(request, pk: int):
    require(request, ACTION)
    member = _member(pk)

    def act(data: dict) -> str:
        services.set_password(member, data["password"], context_for(request), reason=data["reason"])
        if member.pk == request.user.pk:  # their own: this session stays signed in, the others end
            update_session_auth_hash(request, member)
        return _("New password set for %(username)s; tell them in person or by phone.") % {
            "username": member.username}

    return _submit(request, member, SetPasswordForm(request.POST, prefix="password"), "password_form", act)


@login_required
@require_POST
def two_factor(request, pk: int):
    require(request, ACTION)
    member = _member(pk)

    def act(data: dict) -> str:
        services.reset_second_factor(member, context_for(request), reason=data["reason"])
        return _("%(username)s enrols a new authenticator at the next login.") % {"username": member.username}

    return _submit(request, member, ReasonForm(request.POST, prefix="two-factor"), "two_factor_form", act)
