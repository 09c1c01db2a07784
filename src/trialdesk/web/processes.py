"""The server's child processes (gunicorn workers, the background-task worker) end with the server.

A server killed outright (SIGKILL, an out-of-memory kill) cannot stop its children itself. On Linux the
kernel can: ``prctl(PR_SET_PDEATHSIG)`` sends a child SIGKILL when its parent dies, so "the server was
killed" means every process of it, and no orphan keeps finishing requests or holding the database.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Call in the child after fork; a no-op off Linux."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def start_task_worker() -> subprocess.Popen:
    """``trialdesk worker`` beside the server: queued analysis runs are picked up while it serves."""
    return subprocess.Popen(
        [sys.executable, "-m", "trialdesk", "worker"],
        preexec_fn=die_with_parent,  # noqa: PLW1509 - runs before any server thread starts
        env=os.environ.copy(),
    )
