"""``randomise``: hand out the next unused slot of the participant's stratum, concealed and exactly once."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.consent.services import require_consent
from trialdesk.apps.ledger.services import Change, Context, append, append_many
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.services import transition
from trialdesk.apps.participants.status import State
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import UserError

from . import minimisation, notify, strata
from .models import Allocation, AllocationList


class StratumExhaustedError(UserError):
    def __init__(self, stratum: str, allocation_list: AllocationList, empty: bool) -> None:
        self.stratum = stratum
        self.allocation_list = allocation_list
        self.empty = empty
        message = (
            _("the active allocation list has no slots for stratum %(stratum)s: nobody was randomised; the "
              "trial statistician has been alerted to add a list")
            if empty
            else _("the active allocation list has no unused slot left in stratum %(stratum)s: nobody was "
                   "randomised; the trial statistician has been alerted to add a list")
        )
        super().__init__(message % {"stratum": stratum})


def _from_list(participant: Participant, stratum: str, context: Context) -> tuple[Allocation, dict]:
    # Locking the active list row serialises randomisations: a FOR UPDATE ... LIMIT 1 on the slots alone
    # could, under PostgreSQL's READ COMMITTED, skip a slot just taken and report a false exhaustion.
    allocation_list = AllocationList.objects.select_for_update().filter(active=True).first()
    if allocation_list is None:
        raise UserError(_(
            "no allocation list is active: the trial statistician must upload or generate one before anyone "
            "can be randomised"
        ))
    slots = allocation_list.slots.filter(stratum=stratum)
    slot = slots.filter(participant__isnull=True).order_by("sequence").first()
    if slot is None:
        raise StratumExhaustedError(stratum, allocation_list, empty=not slots.exists())
    slot.participant = participant
    slot.save(update_fields=["participant"])
    allocation = Allocation.objects.create(
        participant=participant,
        arm=slot.arm,
        stratum=stratum,
        method="permuted_blocks",
        slot=slot,
        allocated_at=clock.now(),
        allocated_by=context.actor,
        protocol_hash=context.protocol_hash,
    )
    return allocation, {"list": allocation_list.list_hash, "sequence": slot.sequence}


def randomise(participant: Participant, context: Context) -> Allocation:
    """Allocate ``participant``; a second call returns the same allocation.

    Refuses anyone not eligible, consented and with a complete baseline. Everything — slot, allocation,
    status and ledger — is written in one transaction or not at all. The ledger records which slot was
    taken, never the arm: ledger reviewers are blinded.
    """
    protocol = active_protocol()
    try:
        with transaction.atomic():
            locked = (
                Participant.objects.select_for_update(of=("self",))
                .select_related("site")
                .get(pk=participant.pk)
            )
            if locked.state is not State.BASELINE_COMPLETE:
                # Only a randomised participant has left that state with an allocation.
                existing = Allocation.objects.filter(participant=locked).first()
                if existing is not None:
                    return existing
                raise UserError(_(
                    "%(trial_id)s is %(state)s: only a participant who is eligible, consented and has a "
                    "complete baseline can be randomised"
                ) % {"trial_id": locked.trial_id, "state": _(locked.state.label)})
            require_consent(locked, "assessment")
            stratum = strata.stratum_of(locked, protocol)
            # The status first, the slot last: the list's row lock (which serialises randomisations) is
            # then held only for the slot, the allocation and the ledger entries.
            entries: list[Change] = []
            transition(locked, State.RANDOMISED, context, ledger=entries)
            if protocol.randomisation.method == "minimisation":
                allocation, detail = minimisation.allocate(locked, stratum, protocol, context)
            else:
                allocation, detail = _from_list(locked, stratum, context)
            entries.append(Change(
                action="randomise",
                entity="participant",
                entity_id=locked.trial_id,
                new={"stratum": stratum, "method": allocation.method, **detail},
                site=locked.site.code,
                participant=locked.trial_id,
            ))  # fmt: skip
            append_many(context, entries)
    except StratumExhaustedError as problem:
        _alert_exhausted(problem, participant, context)
        raise
    participant.status = State.RANDOMISED.value
    return allocation


def _alert_exhausted(problem: StratumExhaustedError, participant: Participant, context: Context) -> None:
    """Tell the statisticians, and record the alert (in its own transaction: nothing else was written).

    The e-mail is written here in English, not from the refusal, which is in the requester's language.
    """
    to = notify.emails_of("manage-allocation-list")
    what = "has no slots for" if problem.empty else "has no unused slot left in"
    notify.send(
        f"allocation list exhausted for stratum {problem.stratum}",
        f"A randomisation of {participant.trial_id} was refused because the active allocation list {what} "
        f"stratum {problem.stratum}.\n"
        f"Allocation list: {problem.allocation_list.label} ({problem.allocation_list.list_hash[:12]}).\n"
        "Upload or generate a list with more slots for this stratum and activate it.",
        to,
    )
    with transaction.atomic():
        append(
            context,
            action="stratum-exhausted",
            entity="allocation-list",
            entity_id=problem.allocation_list.list_hash,
            new={"stratum": problem.stratum, "notified": len(to)},
            site=participant.site.code,
            participant=participant.trial_id,
        )


def allocation_of(participant: Participant) -> Allocation | None:
    """The allocation, for callers that have already checked ``allowed(user, "view-allocation", ...)``."""
    return Allocation.objects.filter(participant=participant).select_related("slot").first()
