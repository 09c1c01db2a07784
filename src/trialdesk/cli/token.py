"""``trialdesk token``: make, list and revoke API tokens for a user, from the server's shell.

Whoever runs this has the server's shell and database, so it is an operator's tool (a service account
for an integration, or a user who cannot reach the web page); it is recorded in the ledger under the
operating-system user who ran it. Users make their own tokens on the web page (``/account/api-tokens/``),
behind two-factor authentication where their roles require it.
"""

from __future__ import annotations

import getpass
import json

import click

from trialdesk.errors import UserError


def _setup():
    from trialdesk.web.bootstrap import setup

    setup()
    from trialdesk.apps.ledger.services import Context

    return Context(actor=getpass.getuser(), channel="command")


def _user(username: str):
    from django.contrib.auth import get_user_model

    found = get_user_model().objects.filter(username=username, is_active=True).first()
    if found is None:
        raise UserError(f"no active user named {username!r}")
    return found


@click.group()
def token() -> None:
    """Make, list and revoke API tokens (Authorization: Bearer td_…)."""


@token.command()
@click.option("--user", "username", required=True, help="the user the token acts as")
@click.option("--name", default="command line", show_default=True, help="what the token is for")
@click.option("--days", type=int, default=90, show_default=True, help="days until it expires (1-365)")
@click.option("--json", "as_json", is_flag=True, help="print the token and its details as JSON")
def create(username: str, name: str, days: int, as_json: bool) -> None:
    """Make a token for USER; it is printed once and never stored (only its SHA-256 is)."""
    context = _setup()
    from trialdesk.api.tokens import create_token

    text, record = create_token(_user(username), context, name=name, days=days)
    if as_json:
        click.echo(json.dumps({"id": record.pk, "token": text, "user": username, "name": record.name,
                               "expires_at": record.expires_at.isoformat()}))  # fmt: skip
        return
    click.echo(text)
    click.echo(f"token #{record.pk} for {username}, expires {record.expires_at:%Y-%m-%d}", err=True)


@token.command(name="list")
@click.option("--user", "username", required=True, help="whose tokens to list")
@click.option("--json", "as_json", is_flag=True, help="print the list as one JSON document")
def list_tokens(username: str, as_json: bool) -> None:
    """USER's tokens: id, prefix, name, expiry, last use, revoked or not (never the token)."""
    _setup()
    from trialdesk.api.models import ApiToken

    rows = [
        {"id": t.pk, "prefix": t.prefix, "name": t.name, "created_at": t.created_at.isoformat(),
         "expires_at": t.expires_at.isoformat(),
         "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
         "revoked": t.revoked_at is not None}
        for t in ApiToken.objects.filter(user=_user(username))
    ]  # fmt: skip
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        state = "revoked" if row["revoked"] else f"expires {row['expires_at'][:10]}"
        click.echo(f"#{row['id']}  {row['prefix']}…  {row['name']}  {state}")


@token.command()
@click.argument("token_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="print the revoked token's id and time as JSON")
def revoke(token_id: int, as_json: bool) -> None:
    """Revoke token TOKEN_ID (see ``trialdesk token list``)."""
    context = _setup()
    from trialdesk.api.models import ApiToken
    from trialdesk.api.tokens import revoke_token

    record = ApiToken.objects.filter(pk=token_id).first()
    if record is None:
        raise UserError(f"no token #{token_id}")
    revoked = revoke_token(record, context)
    if as_json:
        click.echo(json.dumps({"id": revoked.pk, "revoked_at": revoked.revoked_at.isoformat()}))
    else:
        click.echo(f"token #{revoked.pk} ({revoked.prefix}…) revoked")
