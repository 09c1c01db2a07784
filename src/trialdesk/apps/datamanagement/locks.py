"""Locking data read-only, and lifting a lock with a reason and a second person's approval.

Two barriers keep locked data unchanged whatever the channel: every write service of clinical data calls
:func:`ensure_unlocked` before writing, and :func:`ledger_guard` runs inside the ledger's append (the one
step every trusted write shares), refusing any entry about locked data that a service forgot to check.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.assessments.models import Assessment
from trialdesk.apps.ledger.services import Change, Context, append
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError

from .models import Lock, UnlockRequest

#: Ledger entities that stay writable under any lock: data management itself, sessions and accounts,
#: exports and snapshots, and emergency unblinding (a patient's safety never waits for an unlock).
EXEMPT_ENTITIES = frozenset({
    "query", "source-verification", "casebook-signature", "lock", "unlock-request", "session", "user",
    "export", "snapshot", "arm-letters", "unblinding-request",
    "analysis-run",  # analysing locked data is what the lock is for; it changes no data
})  # fmt: skip


def _keys(participant: Any = None, visit: Any = None, assessment: Any = None) -> list[str]:
    keys = ["database"]
    if assessment is not None:
        participant = participant or assessment.participant
        visit = visit or assessment.visit
    trial_id = participant if isinstance(participant, str) else getattr(participant, "trial_id", None)
    if visit is not None and not isinstance(visit, str):
        trial_id = trial_id or visit.participant.trial_id
    visit_code = visit if isinstance(visit, str) or visit is None else visit.code
    if trial_id:
        keys.append(f"participant:{trial_id}")
    if visit_code:
        keys.append(f"visit:{visit_code}")
    if assessment is not None:
        keys.append(f"form:{trial_id}/{visit_code}/{assessment.instrument}")
    return keys


def _refusal(lock: Lock) -> UserError:
    return UserError(
        f"locked: {lock.describe()} was locked by {lock.locked_by} on {lock.locked_at:%Y-%m-%d %H:%M} UTC "
        f"({lock.reason}); ask a data manager for an unlock"
    )


def ensure_unlocked(participant: Any = None, visit: Any = None, assessment: Any = None) -> None:
    """Raise ``UserError("locked: ...")`` if the data named (or the whole database) are locked.

    ``participant`` is a Participant or trial id, ``visit`` a Visit or a visit code, ``assessment`` a form.
    """
    lock = Lock.objects.filter(
        unlocked_at__isnull=True, key__in=_keys(participant, visit, assessment)
    ).first()
    if lock is not None:
        raise _refusal(lock)


def _entry_keys(change: Change) -> list[str]:
    keys = ["database"]
    if change.participant:
        keys.append(f"participant:{change.participant}")
    parts = str(change.entity_id).split("/")
    # Assessment and visit entries name "<trial id>/<visit>[/<instrument>]" (assessments.services).
    if change.entity in ("assessment", "visit") and len(parts) >= 2:
        keys.append(f"visit:{parts[1]}")
        if len(parts) == 3:
            keys.append(f"form:{change.entity_id}")
    return keys


def ledger_guard(context: Context, changes: Iterable[Change]) -> None:
    """Refuse ledger entries (and so their transaction) that would record a change to locked data."""
    active = {lock.key: lock for lock in Lock.objects.filter(unlocked_at__isnull=True)}
    if not active:
        return
    for change in changes:
        if change.entity in EXEMPT_ENTITIES:
            continue
        for key in _entry_keys(change):
            if key in active:
                raise _refusal(active[key])


def _scope_key(scope: str, participant: Participant | None, visit_code: str, instrument: str) -> str:
    """The lock's key; refusals name the form field that is wrong."""
    if scope == "database":
        return "database"
    if scope not in ("form", "participant", "visit"):
        raise InputError(
            {"scope": _("unknown lock scope %(scope)s; choose form, participant, visit or database") % {
                "scope": repr(scope)}}
        )
    if scope in ("form", "visit") and visit_code not in {visit.code for visit in active_protocol().visits}:
        raise InputError(
            {"visit": f"unknown visit {visit_code!r}" if visit_code else "the visit is required"}
        )
    if scope == "visit":
        return f"visit:{visit_code}"
    if participant is None:
        raise InputError({"participant": _("a %(scope)s lock needs the participant") % {"scope": scope}})
    if scope == "participant":
        return f"participant:{participant.trial_id}"
    if not Assessment.objects.filter(
        participant=participant, visit__code=visit_code, instrument=instrument
    ).exists():
        raise InputError(
            {
                "instrument": _(
                    "%(trial_id)s has no %(instrument)s form at visit %(visit_code)s"
                ) % {
                    "trial_id": participant.trial_id,
                    "instrument": instrument or _("(no instrument)"),
                    "visit_code": visit_code,
                }
            }
        )
    return f"form:{participant.trial_id}/{visit_code}/{instrument}"


def lock(
    scope: str,
    context: Context,
    *,
    user: Any,
    reason: str,
    participant: Participant | None = None,
    visit_code: str = "",
    instrument: str = "",
) -> Lock:
    """Lock data read-only; locking the whole database also takes an analysis snapshot."""
    if not allowed(user, "lock-data", participant):
        raise UserError(_("your role does not allow locking data (lock-data)"))
    if not reason.strip():
        raise InputError({"reason": _("a reason is required to lock data")})
    key = _scope_key(scope, participant, visit_code.strip(), instrument.strip())
    with transaction.atomic():
        if Lock.objects.filter(key=key, unlocked_at__isnull=True).exists():
            raise UserError(_("%(target)s is already locked") % {"target": key.replace(':', ' ')})
        made = Lock.objects.create(
            scope=scope, key=key, participant=participant if scope in ("form", "participant") else None,
            visit_code=visit_code.strip() if scope in ("form", "visit") else "",
            instrument=instrument.strip() if scope == "form" else "", reason=reason.strip(),
            locked_by=context.actor, locked_at=clock.now(),
        )  # fmt: skip
        append(
            context,
            action="lock",
            entity="lock",
            entity_id=made.pk,
            field=scope,
            new=key,
            reason=made.reason,
            site=participant.site.code if participant else "",
            participant=participant.trial_id if participant else "",
        )
        if scope == "database":
            # Inside the lock's transaction: its ledger entry holds the ledger's ordering lock, so no other
            # write can commit while the snapshot reads, and a writer waiting for it then meets the lock.
            # A failed snapshot undoes the lock: nothing changes.
            from trialdesk.apps.snapshots.snapshot import take_snapshot

            try:
                made.snapshot_id = take_snapshot(context, label=f"database lock {made.pk}").id
            except OSError as problem:
                raise UserError(
                    _("the database was not locked: its snapshot could not be written (%(problem)s)") % {
                        "problem": problem}
                ) from None
            made.save(update_fields=["snapshot_id"])
    return made


def request_unlock(target: Lock, context: Context, *, user: Any, reason: str) -> UnlockRequest:
    if not allowed(user, "lock-data"):
        raise UserError(_("your role does not allow asking for an unlock (lock-data)"))
    if not target.active:
        raise UserError(_("%(target)s is not locked") % {"target": target.describe()})
    if not reason.strip():
        raise InputError({"reason": _("a reason is required to unlock data")})
    with transaction.atomic():
        if target.requests.filter(state="pending").exists():
            raise UserError(_("an unlock of %(target)s is already waiting for approval") % {
                "target": target.describe()})
        made = UnlockRequest.objects.create(
            lock=target, requested_by=user, requested_at=clock.now(), reason=reason.strip()
        )
        append(
            context,
            action="request",
            entity="unlock-request",
            entity_id=made.pk,
            new={"lock": target.pk, "key": target.key},
            reason=made.reason,
        )
    return made


def decide_unlock(
    request: UnlockRequest, context: Context, *, user: Any, password: str, approve: bool, note: str = ""
) -> UnlockRequest:
    """Approve (lifting the lock) or refuse an unlock: a second person, password re-entered."""
    if not allowed(user, "approve-unlock"):
        raise UserError(_("your role does not allow approving an unlock (approve-unlock)"))
    if user.pk == request.requested_by_id:
        raise UserError(_("a second person must approve an unlock: you asked for this one"))
    if request.state != "pending":
        raise UserError(_("unlock request #%(number)s is already %(state)s") % {
            "number": request.pk, "state": request.state})
    if not check_password(password, user.password):
        with transaction.atomic():
            append(context, action="approve-password-failed", entity="unlock-request", entity_id=request.pk)
        raise UserError("password: " + _("the password is not correct; nothing was approved"))
    if not approve and not note.strip():
        raise InputError({"note": _("a note is required to refuse an unlock")})
    with transaction.atomic():
        locked = UnlockRequest.objects.select_for_update().get(pk=request.pk)
        if locked.state != "pending":
            raise UserError(_("unlock request #%(number)s is already %(state)s") % {
                "number": locked.pk, "state": locked.state})
        now = clock.now()
        locked.state = "approved" if approve else "refused"
        locked.decided_by, locked.decided_at, locked.decision_note = user, now, note.strip()
        locked.save()
        append(
            context,
            action=locked.state,
            entity="unlock-request",
            entity_id=locked.pk,
            new={"lock": locked.lock_id, "key": locked.lock.key},
            reason=locked.decision_note or locked.reason,
        )
        if approve:
            Lock.objects.filter(pk=locked.lock_id).update(unlocked_at=now)
            append(
                context,
                action="unlock",
                entity="lock",
                entity_id=locked.lock_id,
                old=locked.lock.key,
                reason=locked.reason,
            )
    return locked


def active_locks():
    return Lock.objects.filter(unlocked_at__isnull=True).select_related("participant")
