"""Processes for the crash test of a background register import (tests/integration/test_crash_register_job.py;
not a test file). Run as a script with the environment of ``crash_support.seeded_database``:

  queue --extract PATH
      queue the extract as the seeded key holder would from the web page (``registers.jobs.start``); prints
      the job's id.
  worker --fd FD [--hook]
      ``trialdesk worker`` itself. With --hook the import it runs stops inside its transaction once every
      event and its ledger entry are written, writes ``ready <events visible>`` to FD and waits there for
      the SIGKILL the test sends (the hook wraps the ledger's ``append_many`` as the import calls it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crash_support import KEEPER, _context, _query, _setup, _signal, stop_imports_inside_their_transaction

SCRIPT = Path(__file__).resolve()


def queue(extract: Path) -> None:
    _setup()
    from django.contrib.auth import get_user_model

    from trialdesk.apps.registers import jobs

    keeper = get_user_model().objects.get(username=KEEPER)
    job = jobs.start(extract.read_bytes(), extract.name, _context(KEEPER, "web"), user=keeper,
                     accept_unmatched=False)  # fmt: skip
    print(job.pk)


def worker(fd: int, hook: bool) -> None:
    _setup()
    from trialdesk.cli import main as trialdesk

    if hook:
        stop_imports_inside_their_transaction(fd)
    _signal(fd, "started")
    trialdesk(["worker", "--interval", "0.2"])


def job_state(env: dict[str, str]) -> dict:
    """The job and its task row, read with plain SQL."""
    [(status, attempts, error, upload, register_import)] = _query(env, """
        SELECT status, attempts, error, upload, register_import_id FROM registers_registerimportjob""")
    tasks = [row[0] for row in _query(env, "SELECT status FROM django_tasks_database_dbtaskresult")]
    return {"status": status, "attempts": attempts, "error": error, "upload": upload,
            "register_import": register_import, "tasks": tasks}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("queue")
    p.add_argument("--extract", type=Path, required=True)
    p = commands.add_parser("worker")
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--hook", action="store_true")
    args = parser.parse_args()
    if args.command == "queue":
        queue(args.extract)
    else:
        worker(args.fd, args.hook)


if __name__ == "__main__":
    main()
