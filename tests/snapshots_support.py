"""A small trial with data in every analysis table, for the snapshot, export and backup tests.

Built through the real services only (imported by the tests; not a test file): six participants
randomised from the hand-written list (IMR, TAU, TAU, IMR, ... per stratum), baseline and month-9 forms,
a form not done, allocation guesses, an IMR group with a held session and attendance, a fidelity
rating and a register extract.
"""

from __future__ import annotations

import datetime as dt

from assessments_support import allocation_list, complete, randomised
from enrolment_support import user
from registers_support import csv_bytes, keeper
from trialdesk import clock
from trialdesk.apps.assessments import services as assessments
from trialdesk.apps.intervention import services as imr
from trialdesk.apps.intervention.models import Session
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants import keys
from trialdesk.apps.participants.models import PersonalData
from trialdesk.apps.randomisation.models import Allocation
from trialdesk.apps.registers.services import import_register
from trialdesk.apps.trial.models import Site
from trialdesk.apps.trial.services import install_protocol
from trialdesk.protocol import Protocol, load_protocol

M9_ON = dt.date(2011, 12, 10)
GROUP_START = dt.date(2011, 4, 5)  # a Tuesday
#: What the enrolment support stores as every person's name and contact: must never leave the database.
NAME, CONTACT = "Test Person", "+45 1234 5678"


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def cprs() -> list[str]:
    return [keys.decrypt(row.cpr_encrypted) for row in PersonalData.objects.all()]


def install() -> Context:
    """The IMR protocol with groups allowed to start at 3 members, so six participants make a group."""
    document = load_protocol().model_dump(mode="json")
    document["intervention"]["group_start_minimum"] = 3
    protocol = Protocol.model_validate(document)
    install_protocol(protocol, Context(actor="setup", channel="command", protocol_hash=protocol.content_hash))
    return Context(actor="signe", channel="web", protocol_hash=protocol.content_hash)


def ciphertexts() -> list[str]:
    """The key table's encrypted values as stored."""
    rows = PersonalData.objects.values_list("cpr_encrypted", "name_encrypted", "contact_encrypted")
    return [value for row in rows for value in row if value]


def build(n: int = 6) -> dict:
    """The small trial; returns the context, participants by arm and the staff made."""
    context = install()
    allocation_list(context, per_stratum=8)
    people = [randomised(context, "BAL") for _ in range(n)]
    arms = dict(Allocation.objects.values_list("participant__trial_id", "arm"))
    imr_people = [p for p in people if arms[p.trial_id] == "IMR"]
    anna = user("anna", "assessor", "BAL")
    m9 = load_protocol().visit("m9").instruments
    for person in people[:4]:
        for code in m9:
            complete(person, "m9", code, context, M9_ON)
        assessments.record_guess(
            person, "m9", anna, guess=arms[person.trial_id], confidence="3", guessed_on=M9_ON, context=context
        )
    assessments.mark_not_done(people[4], "m9", m9[0], "participant refused the interview", context=context)
    _delivery(context, imr_people)
    _registers(people[:2])
    return {"context": context, "people": people, "arms": arms, "imr": imr_people, "assessor": anna}


def _delivery(context: Context, members) -> None:
    facilitators = [user(name, "facilitator", "BAL") for name in ("frida", "finn")]
    with clock.frozen(at(dt.date(2011, 4, 1))):
        group = imr.create_group(
            Site.objects.get(code="BAL"),
            "Tuesday group",
            facilitators=facilitators,
            planned_start=GROUP_START,
            weekday=1,
            start_time=dt.time(18),
            context=context,
        )
        for person in members:
            imr.place(person, group, GROUP_START, context)
        imr.generate_schedule(group, context)
        imr.start(group, GROUP_START, context)
    session = Session.objects.get(group=group, number=1)
    with clock.frozen(at(session.starts_at.date(), 20)):
        imr.hold_session(session, minutes=90, modules=[1], facilitators_present=facilitators, context=context)
        imr.record_attendance(session, {p.trial_id: "present" for p in members}, context)
    rater = user("rita", "fidelity_rater")
    with clock.frozen(at(dt.date(2011, 6, 2))):
        imr.rate(
            group,
            rater=rater,
            rated_on=dt.date(2011, 6, 1),
            source="observation",
            items={str(i): 4 for i in range(1, 14)},
            context=context,
        )


def _registers(people) -> None:
    by_trial_id = {
        row.participant.trial_id: keys.decrypt(row.cpr_encrypted)
        for row in PersonalData.objects.select_related("participant")
    }
    rows = [(by_trial_id[p.trial_id], "er_visit", "2011-05-02", "") for p in people]
    rows.append((by_trial_id[people[0].trial_id], "admission", "2011-06-01", "2011-06-11"))
    holder = keeper()
    import_register(
        csv_bytes(rows), "extract.csv", Context(actor=holder.username, channel="import"), user=holder
    )


def export_user(name: str, *, unblinded: bool = False, role: str = "data_manager"):
    return user(name, role, None, unblinded=unblinded)


def wipe() -> None:
    """Empty every table (the module-scoped trial is committed, outside the tests' transactions)."""
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
