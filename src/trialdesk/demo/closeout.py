"""Stage 5, close-out: the data manager locks the whole database (which takes a blinded snapshot); the
statistician, blinded until the data are locked, is unblinded (the administrator records it), takes the
unblinded analysis snapshot of the locked data (the analysis compares the arms, and the primary model
needs the IMR groups), runs the analysis plan on it and writes the report (open: arms shown as A/B)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model

from trialdesk.apps.accounts.models import Membership
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.accounts.roles import Role
from trialdesk.apps.accounts.services import grant_role, revoke_role
from trialdesk.apps.datamanagement.locks import lock
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.snapshots.snapshot import take_snapshot
from trialdesk.errors import UserError

from .timeline import on


@dataclass
class Closed:
    snapshot_id: str = ""
    paths: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def lock_database(day: dt.date, *, user: Any, context: Context) -> Closed:
    with on(day):
        made = lock("database", context, user=user, reason="end of follow-up: database lock for the analysis")
    closed = Closed(snapshot_id=str(made.snapshot_id))
    closed.paths["blinded_snapshot"] = str(made.snapshot_id)
    return closed


def analysis_snapshot(closed: Closed, day: dt.date, *, context: Context) -> None:
    """The unblinded snapshot of the locked data that the analysis runs on, taken by the statistician
    (``context.actor``) under the rule `trialdesk snapshot take --unblinded` applies."""
    with on(day):
        statistician = unblind_statistician(context)
        if not allowed(statistician, "view-allocation"):
            raise UserError(f"{statistician.username} may not take an unblinded snapshot")
        snapshot = take_snapshot(context, "analysis snapshot at the database lock", blinded=False)
    closed.snapshot_id = snapshot.id
    closed.counts = {
        f"snapshot rows: {name}": int(t["rows"]) for name, t in snapshot.manifest["tables"].items()
    }


def unblind_statistician(context: Context) -> Any:
    """The statistician's trial-wide membership made unblinded, by the administrator, with the reason.

    The design's rule: the trial statistician is blinded until the data are locked. A membership's
    unblinded flag is set when it is granted, so the blinded one is revoked and an unblinded one granted,
    both in the audit ledger.
    """
    user = get_user_model().objects.get(username=context.actor)
    if allowed(user, "view-allocation"):
        return user
    admin = Membership.objects.select_related("user").filter(role=Role.ADMIN.value).first()
    by = Context(actor=admin.user.username if admin else "admin", channel="command",
                 protocol_hash=context.protocol_hash)  # fmt: skip
    blinded = Membership.objects.get(user=user, role=Role.STATISTICIAN.value, site=None)
    revoke_role(blinded, by, reason="database locked: the trial statistician is unblinded for the analysis")
    grant_role(user, Role.STATISTICIAN, by, unblinded=True, personal_data=blinded.personal_data,
               reason="database locked: the trial statistician is unblinded for the analysis")
    return get_user_model().objects.get(pk=user.pk)  # a fresh object: permissions are cached per object


def analyse_and_report(
    closed: Closed, day: dt.date, *, context: Context, out: Path, pdf: bool = True
) -> None:
    """Run the analysis plan on the snapshot and write the blinded report to ``out``."""
    from trialdesk.apps.analysis.reports import build_report

    with on(day):
        paths, run = build_report(context, out, snapshot_id=closed.snapshot_id, closed=False, pdf=pdf)
    closed.paths.update({name: str(value) for name, value in vars(paths).items() if value is not None})
    closed.counts["analysis run"] = int(run.pk)
