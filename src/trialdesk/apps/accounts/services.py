"""Creating staff and granting roles: audited, with blinding rules enforced."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.trial.models import Site
from trialdesk.errors import UserError

from .models import Membership
from .roles import MAY_BE_UNBLINDED, UNBLINDED_BY_ROLE, Role


def create_user(username: str, password: str, context: Context, *, full_name: str = "", email: str = "",
                check_password: bool = True):
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise UserError(_("username %(username)s is taken") % {"username": repr(username)})
    user = User(username=username, email=email)
    if full_name:
        user.first_name, _space, user.last_name = full_name.partition(" ")
    if check_password:
        try:
            validate_password(password, user)
        except ValidationError as problem:
            raise UserError(_("password for %(username)s: %(problems)s") % {
                "username": username, "problems": " ".join(problem.messages)}) from None
    user.set_password(password)
    with transaction.atomic():
        user.save()
        append(context, action="create", entity="user", entity_id=username, new={"email": email})
    return user


def grant_role(user, role: Role | str, context: Context, *, site: Site | None = None, unblinded: bool = False,
               personal_data: bool = False) -> Membership:
    """Give ``user`` a role (at ``site``, or all sites). Refuses combinations that would break blinding."""
    role = Role(role)
    if unblinded and role not in MAY_BE_UNBLINDED:
        raise UserError(_("the %(role)s role cannot be named unblinded") % {"role": role.label})
    others = {Role(m.role) for m in Membership.objects.filter(user=user)}
    already_unblinded = Membership.objects.filter(user=user, unblinded=True).exists()
    sees_arms = unblinded or role in UNBLINDED_BY_ROLE or already_unblinded
    if role is Role.ASSESSOR and (others & UNBLINDED_BY_ROLE or sees_arms):
        raise UserError(_(
            "%(username)s sees allocations in another role and cannot be a blinded assessor"
        ) % {"username": user.username})
    if Role.ASSESSOR in others and sees_arms:
        raise UserError(_(
            "%(username)s is a blinded assessor and cannot take a role that sees allocations"
        ) % {"username": user.username})
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            user=user, role=role.value, site=site,
            defaults={"unblinded": unblinded, "personal_data": personal_data},
        )
        if not created:
            raise UserError(_("%(username)s already has the %(role)s role at %(site)s") % {
                "username": user.username, "role": role.label, "site": site.code if site else _("all sites")})
        append(context, action="grant-role", entity="user", entity_id=user.username, field="role",
               new={"role": role.value, "site": site.code if site else None, "unblinded": unblinded,
                    "personal_data": personal_data},
               site=site.code if site else "")
    return membership


def revoke_role(membership: Membership, context: Context, reason: str) -> None:
    with transaction.atomic():
        append(context, action="revoke-role", entity="user", entity_id=membership.user.username, field="role",
               old={"role": membership.role, "site": membership.site.code if membership.site else None},
               reason=reason, require_reason=True, site=membership.site.code if membership.site else "")
        membership.delete()
