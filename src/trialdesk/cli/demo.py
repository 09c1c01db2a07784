"""``trialdesk demo``: the simulated IMR trial through the real services, then its report.

The demo needs an empty database: a second run refuses unless ``--reset`` (SQLite only) starts a new one.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from trialdesk.errors import UserError

MAX_PARTICIPANTS = 1000


def check_out(out: Path) -> Path:
    """``out`` as an absolute path that exists and can be written; UserError otherwise."""
    out = out.expanduser().resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-check-"):
            pass
    except OSError as problem:
        raise UserError(f"--out {out}: cannot write there ({problem.strerror or problem})") from None
    return out


@contextmanager
def progress_bars(enabled: bool) -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """Rich progress bars on stderr, one per stage (nothing when not enabled)."""
    if not enabled:
        yield lambda stage, total: lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as bars:

        def stage(name: str, total: int) -> Callable[[int], None]:
            task = bars.add_task(name, total=max(total, 1))
            return lambda n: bars.advance(task, n)

        yield stage


@click.command()
@click.option("--participants", "n", type=int, default=198, show_default=True,
              help="participants to randomise")  # fmt: skip
@click.option("--seed", type=int, default=2011, show_default=True, help="seed of the simulated trial")
@click.option("--out", type=click.Path(path_type=Path), default=Path("demo-out"), show_default=True,
              help="directory for the report")  # fmt: skip
@click.option("--reset", is_flag=True, help="start a new SQLite demo database first (deletes the old one)")
@click.option("--no-pdf", is_flag=True, help="write the report as HTML only")
@click.option("--json", "as_json", is_flag=True, help="print a summary (counts, timings, paths) as JSON")
def demo(n: int, seed: int, out: Path, reset: bool, no_pdf: bool, as_json: bool) -> None:  # noqa: PLR0917 - click passes options by name
    """Simulate the whole IMR trial through the real services into the configured database, then report.

    Screening, consent, randomisation, groups, sessions, attendance, assessments, register import, the
    database lock, analysis and report: every record goes through its service and the audit ledger.
    """
    if n <= 0:
        raise UserError(f"--participants must be a positive number, got {n}")
    if n > MAX_PARTICIPANTS:
        raise UserError(f"--participants {n} is too many: the demo runs at most {MAX_PARTICIPANTS}")
    out = check_out(out)
    from trialdesk.web.bootstrap import setup

    setup()
    if reset:
        from trialdesk.demo.reset import reset as reset_database

        reset_database()
    setup(migrate=True)
    from django.conf import settings

    from trialdesk.apps.trial.demo import DEMO_PASSWORD, DEMO_STAFF, ensure_demo_key
    from trialdesk.demo.driver import run_demo
    from trialdesk.demo.reset import refuse_unless_empty
    from trialdesk.protocol import load_protocol

    refuse_unless_empty()
    ensure_demo_key(settings.DATA_DIR)
    with progress_bars(
        (not as_json and sys.stderr.isatty()) or bool(os.environ.get("TRIALDESK_PROGRESS"))
    ) as bars:
        result = run_demo(load_protocol(), n=n, seed=seed, out=out, progress=bars, pdf=not no_pdf)
    for problem in result.problems:
        click.echo(f"warning: {problem}", err=True)
    if as_json:
        click.echo(json.dumps(result.as_dict(), default=str))
        return
    click.echo(f"Simulated IMR trial with {n} participants (seed {seed}) in {result.timings['total']:.1f} s.")
    for stage, seconds in result.timings.items():
        if stage != "total":
            click.echo(f"  {stage:<10} {seconds:7.1f} s")
    click.echo(f"Report: {result.paths.get('html', out)}")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for login in DEMO_STAFF:
        click.echo(f"  {login.username:<14} {login.role.label}")
