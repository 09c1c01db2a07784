"""The administrator's staff pages: the list, adding an account, and one account's roles and access.

Every page needs ``manage-users``. The forms only collect input; the services in ``accounts.services``
check it and write it with its ledger entry, and a refusal is shown at its field with nothing stored.
"""

from __future__ import annotations

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
from .staff_forms import AddStaffForm, GrantRoleForm, ReasonForm, SetPasswordForm, StaffFilter

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


@login_required
def detail(request, pk: int):
    require(request, ACTION)
    return _detail(request, _member(pk))


@login_required
@require_POST
def grant(request, pk: int):
    require(request, ACTION)
    member = _member(pk)
    form = GrantRoleForm(request.POST, prefix="grant")
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.grant_role(member, data["role"], context_for(request), site=data["site"],
                                unblinded=data["unblinded"], personal_data=data["personal_data"],
                                reason=data["reason"])  # fmt: skip
        except UserError as problem:
            show_problem(form, problem)
        else:
            messages.success(request, _("Role given to %(username)s.") % {"username": member.username})
            return redirect("staff:detail", pk=member.pk)
    return _detail(request, member, status=400, grant_form=form)


@login_required
@require_POST
def revoke(request, pk: int):
    require(request, ACTION)
    membership = get_object_or_404(Membership.objects.select_related("user", "site"), pk=pk)
    form = ReasonForm(request.POST, prefix=f"revoke-{membership.pk}")
    if form.is_valid():
        try:
            services.revoke_role(membership, context_for(request), reason=form.cleaned_data["reason"])
        except UserError as problem:
            show_problem(form, problem)
        else:
            taken_from = {"username": membership.user.username}
            messages.success(request, _("Role taken from %(username)s.") % taken_from)
            return redirect("staff:detail", pk=membership.user_id)
    return _detail(request, membership.user, status=400, revoke_form=form, revoking=membership.pk)


@login_required
@require_POST
def activation(request, pk: int):
    """Deactivate an active account, or reactivate a deactivated one."""
    require(request, ACTION)
    member = _member(pk)
    form = ReasonForm(request.POST, prefix="activation")
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            if member.is_active:
                services.deactivate_user(member, context_for(request), reason)
                done = _("%(username)s is deactivated: no login, sessions ended, API tokens revoked.")
            else:
                services.reactivate_user(member, context_for(request), reason)
                done = _("%(username)s is active again.")
        except UserError as problem:
            show_problem(form, problem)
        else:
            messages.success(request, done % {"username": member.username})
            return redirect("staff:detail", pk=member.pk)
    return _detail(request, member, status=400, activation_form=form)


@login_required
@require_POST
def password(request, pk: int):
    require(request, ACTION)
    member = _member(pk)
    form = SetPasswordForm(request.POST, prefix="password")
    if form.is_valid():
        try:
            services.set_password(member, form.cleaned_data["password"], context_for(request),
                                  reason=form.cleaned_data["reason"])  # fmt: skip
            if member.pk == request.user.pk:  # their own: this session stays signed in, the others end
                update_session_auth_hash(request, member)
        except UserError as problem:
            show_problem(form, problem)
        else:
            messages.success(request, _("New password set for %(username)s; tell them in person or by phone.")
                             % {"username": member.username})  # fmt: skip
            return redirect("staff:detail", pk=member.pk)
    return _detail(request, member, status=400, password_form=form)


@login_required
@require_POST
def two_factor(request, pk: int):
    require(request, ACTION)
    member = _member(pk)
    form = ReasonForm(request.POST, prefix="two-factor")
    if form.is_valid():
        try:
            services.reset_second_factor(member, context_for(request), reason=form.cleaned_data["reason"])
        except UserError as problem:
            show_problem(form, problem)
        else:
            messages.success(request, _("%(username)s enrols a new authenticator at the next login.")
                             % {"username": member.username})  # fmt: skip
            return redirect("staff:detail", pk=member.pk)
    return _detail(request, member, status=400, two_factor_form=form)
