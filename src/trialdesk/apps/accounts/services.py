"""Staff accounts and their roles: the only writer, audited, with the password policy and blinding rules.

Every change is appended to the ledger in the transaction that makes it (who: the context's actor; what:
the entry; why: its reason). A refused change raises :class:`InputError` naming the field at fault (or
:class:`UserError`) and stores nothing.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.trial.models import Site
from trialdesk.errors import UserError

from .models import Membership
from .roles import MAY_BE_UNBLINDED, SPANS_SITES, UNBLINDED_BY_ROLE, Role


def check_password_policy(password: str, user) -> None:
    """The configured password validators (settings.AUTH_PASSWORD_VALIDATORS), as a refusal at the field."""
    try:
        validate_password(password, user)
    except ValidationError as problem:
        raise InputError({"password": " ".join(problem.messages)}) from None


def _check_identity(username: str, email: str, full_name: str) -> dict[str, str]:
    problems: dict[str, str] = {}
    User = get_user_model()
    if not username:
        problems["username"] = _("a username is required")
    elif len(username) > 150:
        problems["username"] = _("at most 150 characters")
    else:
        try:
            UnicodeUsernameValidator()(username)
        except ValidationError:
            problems["username"] = _("letters, digits and @ . + - _ only")
        else:
            if User.objects.filter(username=username).exists():
                problems["username"] = _("username %(username)s is taken") % {"username": repr(username)}
    problems.update(_check_details(email, full_name))
    return problems


def _name_parts(full_name: str) -> tuple[str, str]:
    """Django's first and last name for a full name: the first word, and the rest."""
    first, _space, last = full_name.partition(" ")
    return first, last


def _check_details(email: str, full_name: str) -> dict[str, str]:
    problems: dict[str, str] = {}
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems["email"] = _("not an e-mail address")
    first, last = _name_parts(full_name)
    if len(first) > 150 or len(last) > 150:
        problems["full_name"] = _("at most 150 characters")
    return problems


def _new_user(username: str, password: str, full_name: str, email: str, check_password: bool):
    """The unsaved account and what is wrong with its details (every field at once)."""
    problems = _check_identity(username, email, full_name)
    user = get_user_model()(username=username, email=email)
    user.first_name, user.last_name = _name_parts(full_name)
    if check_password:
        try:
            check_password_policy(password, user)
        except InputError as refused:
            problems.update(refused.fields)
    return user, problems


def create_user(username: str, password: str, context: Context, *, full_name: str = "", email: str = "",
                check_password: bool = True):
    """A new, active account (no role yet: see :func:`add_staff` for an account with its first role)."""
    username, email, full_name = username.strip(), email.strip(), full_name.strip()
    user, problems = _new_user(username, password, full_name, email, check_password)
    if problems:
        raise InputError(problems)
    user.set_password(password)
    with transaction.atomic():
        user.save()
        append(context, action="create", entity="user", entity_id=username,
               new={"email": email, "full_name": full_name})  # fmt: skip
    return user


def add_staff(username: str, password: str, context: Context, *, role: Role | str, site: Site | None = None,
              full_name: str = "", email: str = "", unblinded: bool = False, personal_data: bool = False,
              reason: str = ""):
    """An account with its first role, all or nothing: any refusal (of either step) stores neither."""
    _user, problems = _new_user(username.strip(), password, full_name.strip(), email.strip(), True)
    problems.update(_grant_problems(role, site, unblinded, reason))
    if problems:
        raise InputError(problems)
    with transaction.atomic():
        user = create_user(username, password, context, full_name=full_name, email=email)
        grant_role(user, role, context, site=site, unblinded=unblinded, personal_data=personal_data,
                   reason=reason)  # fmt: skip
    return get_user_model().objects.get(pk=user.pk)


def _active_admins() -> set[int]:
    return set(Membership.objects.filter(role=Role.ADMIN.value, user__is_active=True)
               .values_list("user_id", flat=True))  # fmt: skip


def _grant_problems(role: Role | str, site: Site | None, unblinded: bool, reason: str) -> dict[str, str]:
    """What is wrong with a grant whoever receives it (before looking at their other roles)."""
    try:
        role = Role(role)
    except ValueError:
        return {"role": _("no role named %(role)s") % {"role": repr(role)}}
    problems: dict[str, str] = {}
    if unblinded and role not in MAY_BE_UNBLINDED:
        problems["unblinded"] = _("the %(role)s role cannot be named unblinded") % {"role": role.label}
    elif unblinded and not reason.strip():
        problems["reason"] = _("say why this member is named unblinded")
    if site is None and role not in SPANS_SITES:
        problems["site"] = _("the %(role)s role is held at one site: choose the site") % {"role": role.label}
    return problems


def grant_role(user, role: Role | str, context: Context, *, site: Site | None = None, unblinded: bool = False,
               personal_data: bool = False, reason: str = "") -> Membership:
    """Give ``user`` a role (at ``site``, or all sites). Refuses combinations that would break blinding.

    Site staff (coordinator, assessor, facilitator) work at one site, so their roles need one; naming a
    member unblinded needs a reason and a role that may be unblinded (``MAY_BE_UNBLINDED``).
    """
    problems = _grant_problems(role, site, unblinded, reason)
    if problems:
        raise InputError(problems)
    role = Role(role)
    others = {Role(m.role) for m in Membership.objects.filter(user=user)}
    already_unblinded = Membership.objects.filter(user=user, unblinded=True).exists()
    sees_arms = unblinded or role in UNBLINDED_BY_ROLE or already_unblinded
    if role is Role.ASSESSOR and (others & UNBLINDED_BY_ROLE or sees_arms):
        raise InputError({"role": _(
            "%(username)s sees allocations in another role and cannot be a blinded assessor"
        ) % {"username": user.username}})
    if Role.ASSESSOR in others and sees_arms:
        raise InputError({"role": _(
            "%(username)s is a blinded assessor and cannot take a role that sees allocations"
        ) % {"username": user.username}})
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            user=user, role=role.value, site=site,
            defaults={"unblinded": unblinded, "personal_data": personal_data},
        )
        if not created:
            where = site.code if site else _("all sites")
            raise InputError({"role": _("%(username)s already has the %(role)s role at %(site)s") % {
                "username": user.username, "role": role.label, "site": where}})
        append(context, action="grant-role", entity="user", entity_id=user.username, field="role",
               new={"role": role.value, "site": site.code if site else None, "unblinded": unblinded,
                    "personal_data": personal_data},
               reason=reason.strip(), require_reason=unblinded, site=site.code if site else "")
    return membership


def revoke_role(membership: Membership, context: Context, reason: str) -> None:
    """End a membership. The last active administrator's admin role is kept (someone must manage staff)."""
    if not reason.strip():
        raise InputError({"reason": _("say why the role is taken away")})
    with transaction.atomic():
        if membership.role == Role.ADMIN.value and _active_admins() == {membership.user_id}:
            raise UserError(_("%(username)s is the last active administrator: make another one first") % {
                "username": membership.user.username})
        append(context, action="revoke-role", entity="user", entity_id=membership.user.username, field="role",
               old={"role": membership.role, "site": membership.site.code if membership.site else None,
                    "unblinded": membership.unblinded, "personal_data": membership.personal_data},
               reason=reason, require_reason=True, site=membership.site.code if membership.site else "")
        membership.delete()


def _end_sessions(user) -> int:
    """Delete ``user``'s stored sessions (a deactivated account is refused by the authentication backend
    anyway: this only stops them lingering). Returns how many were deleted."""
    from django.conf import settings
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return 0
    ended = [s.pk for s in Session.objects.filter(expire_date__gt=clock.now())
             if s.get_decoded().get(SESSION_KEY) == str(user.pk)]  # fmt: skip
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


def deactivate_user(user, context: Context, reason: str):
    """Switch the account off: no login, its sessions end and its API tokens are revoked. Audited."""
    from trialdesk.api.models import ApiToken

    if not reason.strip():
        raise InputError({"reason": _("say why the account is deactivated")})
    if user.username == context.actor:
        raise UserError(_("you cannot deactivate your own account"))
    User = get_user_model()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not locked.is_active:
            raise UserError(_("%(username)s is already deactivated") % {"username": locked.username})
        if _active_admins() == {locked.pk}:
            raise UserError(_("%(username)s is the last active administrator: make another one first") % {
                "username": locked.username})
        now = clock.now()
        tokens = list(ApiToken.objects.select_for_update().filter(user=locked, revoked_at__isnull=True,
                                                                   expires_at__gt=now))  # fmt: skip
        append(context, action="deactivate", entity="user", entity_id=locked.username, field="is_active",
               old=True, new=False, reason=reason, require_reason=True)
        for token in tokens:
            token.revoked_at, token.revoked_by = now, context.actor
            token.save(update_fields=["revoked_at", "revoked_by"])
            append(context, action="revoke", entity="api-token", entity_id=token.pk,
                   old={"user": locked.username, "prefix": token.prefix}, reason=reason)
        locked.is_active = False
        locked.save(update_fields=["is_active"])
        _end_sessions(locked)
    return locked


def reactivate_user(user, context: Context, reason: str):
    """Switch a deactivated account on again (its revoked API tokens stay revoked). Audited."""
    if not reason.strip():
        raise InputError({"reason": _("say why the account is reactivated")})
    User = get_user_model()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_active:
            raise UserError(_("%(username)s is already active") % {"username": locked.username})
        append(context, action="reactivate", entity="user", entity_id=locked.username, field="is_active",
               old=False, new=True, reason=reason, require_reason=True)
        locked.is_active = True
        locked.save(update_fields=["is_active"])
    return locked


def set_password(user, password: str, context: Context, reason: str):
    """An administrator sets ``user``'s password, under the password policy. The user's sessions end
    (Django ties a session to the password); the password itself is never recorded."""
    if not reason.strip():
        raise InputError({"reason": _("say why the password is set")})
    check_password_policy(password, user)
    with transaction.atomic():
        append(context, action="set-password", entity="user", entity_id=user.username, field="password",
               reason=reason, require_reason=True)
        user.set_password(password)
        user.save(update_fields=["password"])
        _end_sessions(user)
    return user


def update_details(user, context: Context, *, full_name: str, email: str, reason: str = ""):
    """Correct the person's name or e-mail address. The ledger keeps the old and new values."""
    full_name, email = full_name.strip(), email.strip()
    problems = _check_details(email, full_name)
    if problems:
        raise InputError(problems)
    new = {"full_name": full_name, "email": email}
    with transaction.atomic():
        locked = get_user_model().objects.select_for_update().get(pk=user.pk)
        old = {"full_name": locked.get_full_name(), "email": locked.email}
        if old == new:
            raise UserError(_("nothing to change: the name and e-mail address are as they were"))
        append(context, action="update", entity="user", entity_id=locked.username, old=old, new=new,
               reason=reason)
        locked.first_name, locked.last_name = _name_parts(full_name)
        locked.email = email
        locked.save(update_fields=["first_name", "last_name", "email"])
    return locked


def reset_second_factor(user, context: Context, reason: str) -> int:
    """Remove ``user``'s authenticator (a lost phone): they enrol again at their next login. Audited."""
    from .twofactor import confirmed_device, reset_two_factor

    if not reason.strip():
        raise InputError({"reason": _("say why the authenticator is removed")})
    if confirmed_device(user) is None:
        raise UserError(_("%(username)s has no authenticator enrolled") % {"username": user.username})
    return reset_two_factor(user, context, reason)
