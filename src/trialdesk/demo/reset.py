"""Running the demo twice: the demo needs an empty trial database, and ``--reset`` makes one.

The audit ledger is append-only (and on PostgreSQL the database refuses deletes), so the demo never
deletes records: on SQLite ``--reset`` removes the demo's database file (and its snapshots) and starts a
new one; on any other database it refuses and names what to do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from trialdesk.errors import UserError


def sqlite_file() -> Path | None:
    from django.conf import settings

    config = settings.DATABASES["default"]
    if config["ENGINE"] != "django.db.backends.sqlite3":
        return None
    return Path(config["NAME"])


def reset() -> list[str]:
    """Delete the SQLite database (with its WAL files) and the snapshots; returns what was removed."""
    from django.conf import settings
    from django.db import connections

    path = sqlite_file()
    if path is None:
        raise UserError(
            "--reset works only on the SQLite demo database; empty a PostgreSQL database yourself"
        )
    connections.close_all()
    removed = []
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists():
            candidate.unlink()
            removed.append(str(candidate))
    snapshots = Path(settings.DATA_DIR) / "snapshots"
    if snapshots.exists():
        for child in snapshots.rglob("*"):
            child.chmod(0o700 if child.is_dir() else 0o600)
        snapshots.chmod(0o700)
        shutil.rmtree(snapshots)
        removed.append(str(snapshots))
    return removed


def refuse_unless_empty() -> None:
    """UserError when the database already holds a trial (participants or an allocation list)."""
    from trialdesk.apps.participants.models import Participant
    from trialdesk.apps.randomisation.models import AllocationList

    people = Participant.objects.count()
    if people or AllocationList.objects.exists():
        raise UserError(
            f"the database already holds a trial ({people} participants): the demo needs an empty database; "
            "run `trialdesk demo --reset` to start a new SQLite demo database, or set TRIALDESK_DATA_DIR"
        )
