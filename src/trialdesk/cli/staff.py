"""``trialdesk staff``: list staff accounts, add them, give and take away roles, switch accounts off and on.

The same services as the administrator's web pages (``accounts.services``): the password policy, the
site and blinding rules, and a ledger entry for every change. A command acts as a named administrator
(``--as USERNAME``, who must hold the manage-users permission) or, by default, as the operating-system
user who runs it (whoever has the server's shell), as ``trialdesk token`` does.

On a fresh installation ``trialdesk staff add USERNAME --role admin`` makes the first administrator
(the database is migrated first); everyone else can then be added on the web pages.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from trialdesk.errors import UserError

ROLE_NAMES = ["coordinator", "assessor", "facilitator", "fidelity_rater", "data_manager", "statistician",
              "investigator", "monitor", "admin"]  # fmt: skip

_as = click.option("--as", "acting", metavar="USERNAME",
                   help="act as this administrator (default: the operating-system user, as recorded)")
_json = click.option("--json", "as_json", is_flag=True, help="print the result as one JSON document")


def _setup(acting: str | None, *, migrate: bool = False):
    """Django, and the context the ledger records: the named administrator or the OS user."""
    from trialdesk.web.bootstrap import setup

    setup(migrate=migrate)
    from trialdesk.apps.accounts.permissions import allowed
    from trialdesk.apps.ledger.services import Context
    from trialdesk.apps.trial.services import active_hash

    if acting is None:
        return Context(actor=getpass.getuser(), channel="command", protocol_hash=active_hash())
    admin = _user(acting)
    if not admin.is_active or not allowed(admin, "manage-users"):
        raise UserError(f"{acting} is not an active administrator (needs the manage-users permission)")
    return Context(actor=admin.username, channel="command", protocol_hash=active_hash())


def _user(username: str):
    from django.contrib.auth import get_user_model

    found = get_user_model().objects.filter(username=username).first()
    if found is None:
        raise UserError(f"no user named {username!r}")
    return found


def _site(code: str | None):
    if code is None:
        return None
    from trialdesk.apps.trial.models import Site

    found = Site.objects.filter(code=code).first()
    if found is None:
        known = ", ".join(Site.objects.values_list("code", flat=True)) or "none: install the protocol first"
        raise UserError(f"no site {code!r} (sites: {known})")
    return found


def _read_password(path: Path | None) -> str:
    if path is None:
        return click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as problem:
        raise UserError(f"cannot read {path}: {problem.strerror}") from None
    if not lines or not lines[0]:
        raise UserError(f"{path} holds no password (its first line is used)")
    return lines[0]


def _row_text(row: dict) -> str:
    roles = ", ".join(
        f"{r['role']}@{r['site'] or 'all'}" + (" unblinded" if r["unblinded"] else "")
        + (" key-holder" if r["personal_data"] else "")
        for r in row["roles"]
    ) or "no role"
    state = "active" if row["active"] else "deactivated"
    two_factor = "2fa" if row["two_factor"] else "no-2fa"
    return f"{row['username']}  {state}  {two_factor}  {roles}"


def _membership_json(membership) -> dict:
    return {"username": membership.user.username, "role": membership.role,
            "site": membership.site.code if membership.site_id else None, "unblinded": membership.unblinded,
            "personal_data": membership.personal_data}  # fmt: skip


@click.group()
def staff() -> None:
    """Staff accounts and roles: list, add, details, grant, revoke, deactivate, activate, password."""


@staff.command(name="list")
@click.option("--status", type=click.Choice(["active", "inactive", "all"]), default="all", show_default=True,
              help="which accounts to list")
@click.option("--role", type=click.Choice(ROLE_NAMES), help="only accounts holding this role")
@_json
def list_staff(status: str, role: str | None, as_json: bool) -> None:
    """Every account: username, active or not, two-factor enrolled or not, roles with site and flags."""
    from trialdesk.web.bootstrap import setup

    setup()
    from trialdesk.apps.accounts.staff import rows

    found = [r.as_json() for r in rows(status, role or "")]
    if as_json:
        click.echo(json.dumps(found))
        return
    for row in found:
        click.echo(_row_text(row))
    if not found:
        click.echo("no accounts", err=True)


@staff.command()
@click.argument("username")
@click.option("--role", type=click.Choice(ROLE_NAMES), required=True, help="the account's first role")
@click.option("--site", help="the site code (required for coordinator, assessor and facilitator)")
@click.option("--full-name", default="", help="the person's full name")
@click.option("--email", default="", help="the person's e-mail address")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="read the password from this file's first line (default: prompt for it)")
@click.option("--unblinded", is_flag=True, help="name the member unblinded (needs --reason)")
@click.option("--personal-data", is_flag=True, help="make the member a holder of the personal-data key")
@click.option("--reason", default="", help="why (required with --unblinded)")
@_as
@_json
def add(*, username: str, role: str, site: str | None, full_name: str, email: str, password_file: Path | None,
        unblinded: bool, personal_data: bool, reason: str, acting: str | None, as_json: bool) -> None:
    """Add an account with its first role (password policy applies); works on an empty database."""
    context = _setup(acting, migrate=True)
    from trialdesk.apps.accounts.services import add_staff

    place = _site(site)
    password = _read_password(password_file)
    made = add_staff(username, password, context, role=role, site=place, full_name=full_name, email=email,
                     unblinded=unblinded, personal_data=personal_data, reason=reason)  # fmt: skip
    if as_json:
        from trialdesk.apps.accounts.staff import row_for

        click.echo(json.dumps(row_for(made).as_json()))
    else:
        click.echo(f"{made.username} added as {role} at {site or 'all sites'}")


@staff.command()
@click.argument("username")
@click.argument("role", type=click.Choice(ROLE_NAMES))
@click.option("--site", help="the site code (required for coordinator, assessor and facilitator)")
@click.option("--unblinded", is_flag=True, help="name the member unblinded (needs --reason)")
@click.option("--personal-data", is_flag=True, help="make the member a holder of the personal-data key")
@click.option("--reason", default="", help="why (required with --unblinded)")
@_as
@_json
def grant(*, username: str, role: str, site: str | None, unblinded: bool, personal_data: bool, reason: str,
          acting: str | None, as_json: bool) -> None:
    """Give USERNAME the ROLE (at --site, or at all sites)."""
    context = _setup(acting)
    from trialdesk.apps.accounts.services import grant_role

    membership = grant_role(_user(username), role, context, site=_site(site), unblinded=unblinded,
                            personal_data=personal_data, reason=reason)  # fmt: skip
    if as_json:
        click.echo(json.dumps(_membership_json(membership)))
    else:
        click.echo(f"{username} is now {role} at {site or 'all sites'}")


@staff.command()
@click.argument("username")
@click.argument("role", type=click.Choice(ROLE_NAMES))
@click.option("--site", help="the site code of the membership (default: the all-sites one)")
@click.option("--reason", required=True, help="why the role is taken away (recorded)")
@_as
@_json
def revoke(*, username: str, role: str, site: str | None, reason: str, acting: str | None,
           as_json: bool) -> None:
    """Take ROLE (at --site, or the all-sites one) away from USERNAME."""
    context = _setup(acting)
    from trialdesk.apps.accounts.models import Membership
    from trialdesk.apps.accounts.services import revoke_role

    member, place = _user(username), _site(site)
    membership = Membership.objects.select_related("user", "site").filter(user=member, role=role,
                                                                          site=place).first()  # fmt: skip
    if membership is None:
        raise UserError(f"{username} has no {role} role at {site or 'all sites'}")
    described = _membership_json(membership)
    revoke_role(membership, context, reason=reason)
    if as_json:
        click.echo(json.dumps({**described, "revoked": True}))
    else:
        click.echo(f"{username} is no longer {role} at {site or 'all sites'}")


def _switch(username: str, reason: str, acting: str | None, as_json: bool, *, on: bool) -> None:
    context = _setup(acting)
    from trialdesk.apps.accounts.services import deactivate_user, reactivate_user

    done = (reactivate_user if on else deactivate_user)(_user(username), context, reason)
    if as_json:
        click.echo(json.dumps({"username": done.username, "active": done.is_active}))
    else:
        click.echo(f"{done.username} {'reactivated' if on else 'deactivated'}")


@staff.command()
@click.argument("username")
@click.option("--reason", required=True, help="why the account is switched off (recorded)")
@_as
@_json
def deactivate(username: str, reason: str, acting: str | None, as_json: bool) -> None:
    """Switch USERNAME's account off: no login, sessions ended, API tokens revoked."""
    _switch(username, reason, acting, as_json, on=False)


@staff.command()
@click.argument("username")
@click.option("--reason", required=True, help="why the account is switched on again (recorded)")
@_as
@_json
def activate(username: str, reason: str, acting: str | None, as_json: bool) -> None:
    """Switch a deactivated account on again (its revoked API tokens stay revoked)."""
    _switch(username, reason, acting, as_json, on=True)


@staff.command()
@click.argument("username")
@click.option("--full-name", help="the person's full name (default: unchanged)")
@click.option("--email", help="the person's e-mail address (default: unchanged)")
@click.option("--reason", default="", help="why (recorded)")
@_as
@_json
def details(username: str, *, full_name: str | None, email: str | None, reason: str, acting: str | None,
            as_json: bool) -> None:
    """Correct USERNAME's name or e-mail address (the ledger keeps the old values)."""
    context = _setup(acting)
    from trialdesk.apps.accounts.services import update_details

    member = _user(username)
    member = update_details(member, context, reason=reason,
                            full_name=member.get_full_name() if full_name is None else full_name,
                            email=member.email if email is None else email)  # fmt: skip
    if as_json:
        click.echo(json.dumps({"username": member.username, "full_name": member.get_full_name(),
                               "email": member.email}))  # fmt: skip
    else:
        name, address = member.get_full_name() or "(no name)", member.email or "no e-mail"
        click.echo(f"{member.username}: {name} <{address}>")


@staff.command()
@click.argument("username")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
              help="read the password from this file's first line (default: prompt for it)")
@click.option("--reason", required=True, help="why the password is set (recorded; the password is not)")
@_as
def password(username: str, password_file: Path | None, reason: str, acting: str | None) -> None:
    """Set USERNAME's password under the password policy; their sessions end."""
    context = _setup(acting)
    from trialdesk.apps.accounts.services import set_password

    member = _user(username)
    set_password(member, _read_password(password_file), context, reason)
    click.echo(f"password set for {member.username}")
