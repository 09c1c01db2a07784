"""A whole demo trial in the test database for the analysis tests, and the command line run in-process.

:func:`demo_trial` pushes the simulated trial through the real services with the demo driver
(`trialdesk demo` without its report stage: the tests run `trialdesk analyse` and `trialdesk report`
themselves) and empties the database afterwards, so a module builds it once and others start clean.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

#: Every stage of the demo but the report: set-up to the database lock and the analysis snapshot.
STAGES = ("population", "setup", "enrolment", "course", "delivery", "follow-up", "registers", "close-out")


@contextlib.contextmanager
def demo_trial(django_db_blocker, data_dir: Path, participants: int, seed: int = 2011) -> Iterator[object]:
    """The demo trial of ``participants`` committed to the test database (flushed on exit)."""
    from django.conf import settings
    from django.core.management import call_command

    from trialdesk.demo.driver import run_demo
    from trialdesk.protocol import load_protocol

    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRIALDESK_PERSONAL_DATA_KEY", Fernet.generate_key().decode())
        patch.setattr(settings, "DATA_DIR", data_dir)
        patch.setattr(settings, "PASSWORD_HASHERS", ["django.contrib.auth.hashers.MD5PasswordHasher"])
        try:
            yield run_demo(load_protocol(), n=participants, seed=seed, out=data_dir / "out", stages=STAGES)
        finally:
            call_command("flush", interactive=False, verbosity=0)


@dataclass(frozen=True)
class Ran:
    status: int
    out: str
    err: str


def trialdesk(*args: str) -> Ran:
    """Run ``trialdesk ARGS`` through its entry point (the console script's ``main``), capturing output."""
    from trialdesk.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return Ran(status, out.getvalue(), err.getvalue())
