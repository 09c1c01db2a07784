"""The only writer of participants, their personal data and their status."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.ledger.services import Change, Context, append, append_many
from trialdesk.apps.trial.models import Site
from trialdesk.errors import UserError

from . import cpr as cpr_rules
from . import keys
from .models import Participant, PersonalData, StatusEvent
from .problems import InputError
from .status import NEEDS_REASON, TRANSITIONS, State

#: What the ledger records instead of a personal value.
REDACTED = "personal data changed"


@dataclass(frozen=True)
class PersonalDetails:
    """Identifying data as entered; never logged, exported, or echoed in an error."""

    cpr: str
    name: str
    contact: str = ""

    def __repr__(self) -> str:
        return "PersonalDetails(<redacted>)"

    def cleaned(self) -> PersonalDetails:
        problems = {}
        try:
            normal = cpr_rules.validate(self.cpr)
        except UserError as problem:
            problems["cpr"] = str(problem)
            normal = ""
        if not self.name.strip():
            problems["name"] = _("name is required")
        if problems:
            raise InputError(problems)
        return PersonalDetails(cpr=normal, name=self.name.strip(), contact=self.contact.strip())


def find_by_cpr(cpr: str) -> Participant | None:
    """The participant registered under this CPR number, found by its fingerprint (nothing decrypted)."""
    fingerprint = keys.fingerprint(cpr_rules.validate(cpr))
    found = PersonalData.objects.filter(cpr_fingerprint=fingerprint).select_related("participant").first()
    return found.participant if found else None


def check_not_registered(details: PersonalDetails) -> None:
    existing = find_by_cpr(details.cpr)
    if existing is not None:
        raise InputError(
            {
                "cpr": _(
                    "this person is already registered in the trial as %(trial_id)s; re-screen them from "
                    "their page instead"
                ) % {"trial_id": existing.trial_id}
            }
        )


def register(site: Site, details: PersonalDetails, context: Context) -> Participant:
    """Create a participant (status screened) with the next trial id at ``site`` and their key-table row.

    Must run inside the caller's transaction (the screening that registers them).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("register must run inside the screening's transaction")
    details = details.cleaned()
    fingerprint = keys.fingerprint(details.cpr)
    # Lock the site row: numbers at a site are handed out one at a time (PostgreSQL); SQLite's
    # BEGIN IMMEDIATE already serialises writers. The unique constraint is the backstop.
    Site.objects.select_for_update().get(pk=site.pk)
    number = (Participant.objects.filter(site=site).aggregate(top=Max("number"))["top"] or 0) + 1
    now = clock.now()
    participant = Participant.objects.create(
        trial_id=f"{site.prefix}-{number:04d}",
        site=site,
        number=number,
        status=State.SCREENED.value,
        created_at=now,
        protocol_hash=context.protocol_hash,
    )
    try:
        with transaction.atomic():
            PersonalData.objects.create(
                participant=participant,
                cpr_fingerprint=fingerprint,
                cpr_encrypted=keys.encrypt(details.cpr),
                name_encrypted=keys.encrypt(details.name),
                contact_encrypted=keys.encrypt(details.contact) if details.contact else "",
                updated_at=now,
            )
    except IntegrityError:
        # Another request registered the same person a moment ago.
        check_not_registered(details)
        raise
    StatusEvent.objects.create(
        participant=participant,
        from_state="",
        to_state=State.SCREENED.value,
        at=now,
        actor=context.actor,
        protocol_hash=context.protocol_hash,
    )
    append(
        context,
        action="create",
        entity="participant",
        entity_id=participant.trial_id,
        new={"site": site.code, "status": State.SCREENED.value},
        site=site.code,
        participant=participant.trial_id,
    )
    append(
        context,
        action="create",
        entity="personal-data",
        entity_id=participant.trial_id,
        new=REDACTED,
        site=site.code,
        participant=participant.trial_id,
    )
    return participant


def transition(
    participant: Participant, to_state: State | str, context: Context, *, reason: str = "",
    ledger: list[Change] | None = None,
) -> StatusEvent:
    """Move ``participant`` along the pipeline: the one guarded writer of status.

    Refuses a transition not in :data:`status.TRANSITIONS`, naming both states. Locks the row so two
    requests cannot both move the participant from the same state. A caller that records several facts
    in one transaction passes ``ledger``: the entry is added to it for the caller's one ``append_many``
    (which must then run in the same transaction) instead of being appended here.
    """
    target = State(to_state)
    with transaction.atomic():
        locked = Participant.objects.select_for_update(of=("self",)).select_related("site").get(
            pk=participant.pk
        )
        current = locked.state
        if target not in TRANSITIONS[current]:
            allowed = ", ".join(_(s.label) for s in sorted(TRANSITIONS[current])) or _("none (final state)")
            raise UserError(
                _("%(trial_id)s cannot move from %(current)s to %(target)s (allowed from %(current)s: "
                  "%(allowed)s)") % {"trial_id": locked.trial_id, "current": _(current.label),
                                      "target": _(target.label), "allowed": allowed}
            )
        if target in NEEDS_REASON and not reason.strip():
            raise UserError(_("a reason is required to move %(trial_id)s to %(target)s") % {
                "trial_id": locked.trial_id, "target": _(target.label)})
        locked.status = target.value
        locked.save(update_fields=["status"])
        event = StatusEvent.objects.create(
            participant=locked,
            from_state=current.value,
            to_state=target.value,
            at=clock.now(),
            actor=context.actor,
            reason=reason,
            protocol_hash=context.protocol_hash,
        )
        change = Change(
            action="transition",
            entity="participant",
            entity_id=locked.trial_id,
            field="status",
            old=current.value,
            new=target.value,
            reason=reason,
            site=locked.site.code,
            participant=locked.trial_id,
        )
        if ledger is None:
            append_many(context, [change])
        else:
            ledger.append(change)
    participant.status = target.value
    return event


def read_personal_data(participant: Participant, context: Context) -> PersonalDetails:
    """Decrypt a participant's key-table row; the read itself is recorded (not what was read).

    The caller checks ``allowed(user, "view-personal-data", participant)`` first.
    """
    row = PersonalData.objects.get(participant=participant)
    details = PersonalDetails(
        cpr=keys.decrypt(row.cpr_encrypted),
        name=keys.decrypt(row.name_encrypted),
        contact=keys.decrypt(row.contact_encrypted),
    )
    with transaction.atomic():
        append(
            context,
            action="view",
            entity="personal-data",
            entity_id=participant.trial_id,
            site=participant.site.code,
            participant=participant.trial_id,
        )
    return details


def change_personal_data(
    participant: Participant, details: PersonalDetails, context: Context, *, reason: str
) -> None:
    """Correct the key table. The ledger records that personal data changed, never the values."""
    details = details.cleaned()
    fingerprint = keys.fingerprint(details.cpr)
    with transaction.atomic():
        row = PersonalData.objects.select_for_update().get(participant=participant)
        clash = PersonalData.objects.filter(cpr_fingerprint=fingerprint).exclude(pk=row.pk).first()
        if clash is not None:
            raise InputError(
                {"cpr": _("this CPR number is already registered for %(trial_id)s") % {
                    "trial_id": clash.participant.trial_id}}
            )
        append(
            context,
            action="update",
            entity="personal-data",
            entity_id=participant.trial_id,
            old=REDACTED,
            new=REDACTED,
            reason=reason,
            require_reason=True,
            site=participant.site.code,
            participant=participant.trial_id,
        )
        row.cpr_fingerprint = fingerprint
        row.cpr_encrypted = keys.encrypt(details.cpr)
        row.name_encrypted = keys.encrypt(details.name)
        row.contact_encrypted = keys.encrypt(details.contact) if details.contact else ""
        row.updated_at = clock.now()
        row.save()


def birth_date(participant: Participant):
    """Birth date from the encrypted CPR number (for age criteria at re-screening)."""
    row = PersonalData.objects.get(participant=participant)
    return cpr_rules.birth_date(keys.decrypt(row.cpr_encrypted))
