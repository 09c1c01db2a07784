"""The ``trialdesk`` command line: a thin layer over the library.

Each command group lives in its own module and is imported only when called, so ``trialdesk protocol``
does not pay for Django or statsmodels. Every command has ``--help``; bad input is one line on stderr
and exit status 2 (see :mod:`trialdesk.errors`).
"""

from __future__ import annotations

import importlib
import sys

import click

from trialdesk.errors import UserError

# command name -> "module:attribute" of its click command, imported lazily.
COMMANDS: dict[str, str] = {
    "protocol": "trialdesk.cli.protocol:protocol",
    "audit": "trialdesk.cli.audit:audit",
    "serve": "trialdesk.cli.serve:serve",
    "demo": "trialdesk.cli.demo:demo",
    "stats": "trialdesk.cli.stats:stats",
    "power": "trialdesk.cli.power:power",
    "simulate": "trialdesk.cli.simulate:simulate",
    "allocation": "trialdesk.cli.allocation:allocation",
    "register": "trialdesk.cli.register:register",
    "export": "trialdesk.cli.export:export",
    "snapshot": "trialdesk.cli.snapshot:snapshot",
    "backup": "trialdesk.cli.backup:backup",
    "restore": "trialdesk.cli.backup:restore",
    "analyse": "trialdesk.cli.analyse:analyse",
    "report": "trialdesk.cli.report:report",
    "worker": "trialdesk.cli.worker:worker",
    "token": "trialdesk.cli.token:token",
    "staff": "trialdesk.cli.staff:staff",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trialdesk")
def cli() -> None:
    """trialdesk: run a randomised, assessor-blinded, multi-centre trial end to end."""


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the command, turning user errors into one line on stderr and exit 2."""
    try:
        # Without standalone mode click returns a command's Exit code instead of raising it.
        status = cli.main(args=argv, prog_name="trialdesk", standalone_mode=False)
    except click.exceptions.Exit as stop:
        return stop.exit_code
    except click.ClickException as problem:
        problem.show()
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except UserError as problem:
        for line in str(problem).splitlines() or ["error"]:
            click.echo(f"error: {line}", err=True)
        return 2
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
