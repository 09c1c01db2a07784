"""``trialdesk demo``: set up the IMR trial with one login per role."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="print the logins as one JSON document")
def demo(as_json: bool) -> None:
    """Install the embedded IMR protocol and create one demo login per role."""
    from trialdesk.web.bootstrap import setup

    setup(migrate=True)
    from django.conf import settings

    from trialdesk.apps.ledger.services import Context
    from trialdesk.apps.trial.demo import DEMO_PASSWORD, ensure_demo_key, prepare
    from trialdesk.protocol import load_protocol

    ensure_demo_key(settings.DATA_DIR)

    protocol = load_protocol()
    logins = prepare(protocol, Context(actor="demo", channel="command", protocol_hash=protocol.content_hash))
    if as_json:
        click.echo(json.dumps({
            "protocol_hash": protocol.content_hash,
            "password": DEMO_PASSWORD,
            "logins": [{"username": login.username, "role": login.role.value, "site": site}
                       for login, site in logins],
        }))
        return
    click.echo(f"IMR trial protocol installed ({protocol.content_hash[:12]}).")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for login, site in logins:
        click.echo(f"  {login.username:<14} {login.role.label:<28} {site}")
