"""Uploaded register extracts kept for their background job, and only until it ends.

An extract holds CPR numbers, so its bytes live in one owner-only directory under the data directory
(mode 0700, each file 0600), which nothing serves; a file is named by a random token, never by its upload
name. The job removes its file when it finishes or fails; :func:`sweep` removes what a crash left behind.
Nothing here logs a file's content or name.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

#: A kept upload's name: 32 hex digits (so a name read back from the database cannot leave the directory).
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
#: A file younger than this may belong to an upload whose job is not committed yet: sweeps leave it alone.
SWEEP_GRACE_S = 15 * 60


def directory() -> Path:
    """The uploads directory, made owner-only (also when it exists with wider permissions)."""
    path = Path(settings.DATA_DIR) / "register-uploads"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _path(token: str) -> Path:
    if not _TOKEN.match(token):
        raise ValueError("not an upload token")
    return directory() / token


def keep(data: bytes) -> str:
    """Write ``data`` to a new owner-only file; its token."""
    token = secrets.token_hex(16)
    descriptor = os.open(_path(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        remove(token)
        raise
    return token


def read(token: str) -> bytes:
    return _path(token).read_bytes()


def exists(token: str) -> bool:
    return bool(token) and _path(token).exists()


def remove(token: str) -> None:
    if token:
        _path(token).unlink(missing_ok=True)


def sweep(in_use: Iterable[str], *, now: float | None = None) -> int:
    """Remove kept files no waiting or running job names (older than the grace period); how many."""
    keep_these = set(in_use)
    cutoff = (time.time() if now is None else now) - SWEEP_GRACE_S
    removed = 0
    for path in directory().iterdir():
        if path.name not in keep_these and _TOKEN.match(path.name) and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
