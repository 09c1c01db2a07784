"""A small two-site trial for the web-interface tests (imported by them; not a test file).

Built through the real services only, with the demo logins (``DEMO_STAFF``: one per role, site staff at
each of the two sites) and dates relative to today, so home pages have work on them: baseline 280 days
ago puts the 9-month visit window open now. Per site: four randomised participants from the
hand-written list (IMR, TAU, TAU, IMR), one consented awaiting baseline, one eligible awaiting consent;
an IMR group with three sessions held (one member absent from all three), a recovery goal with a step,
9-month forms and an allocation guess, a query, an unblinding request. Trial-wide: a fidelity rating, a
register import, a form lock with an unlock request, a blinded snapshot and a finished analysis run, and a
self-report link.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model

from assessments_support import complete, complete_visit
from enrolment_support import answers, install_rows, person, user
from registers_support import csv_bytes
from trialdesk import clock
from trialdesk.apps.accounts.roles import Role
from trialdesk.apps.assessments import services as assessments
from trialdesk.apps.consent.services import record_consent
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants import keys
from trialdesk.apps.participants.models import Participant, PersonalData
from trialdesk.apps.randomisation.models import Allocation
from trialdesk.apps.randomisation.services import randomise
from trialdesk.apps.screening.services import screen
from trialdesk.apps.trial.demo import DEMO_STAFF, prepare
from trialdesk.apps.trial.models import Site
from trialdesk.protocol import Protocol, load_protocol

SITES = ("BAL", "FRB")
#: Group names chosen so a page that shows one cannot match anything else by chance.
GROUP_NAMES = {"BAL": "Harbour Lighthouse circle", "FRB": "Orchard Kestrel circle"}
GOAL_TEXT = "Walk to the library twice a week"
QUERY_TEXT = "Please check the PANSS date against the source"


@dataclass
class Trial:
    protocol: Protocol
    today: dt.date
    start: dt.date
    people: dict[str, list[Participant]] = field(default_factory=dict)  # site -> randomised
    arms: dict[str, str] = field(default_factory=dict)  # trial id -> arm
    waiting: dict[str, Participant] = field(default_factory=dict)  # site -> consented, no baseline
    eligible: dict[str, Participant] = field(default_factory=dict)  # site -> eligible, no consent
    groups: dict[str, Any] = field(default_factory=dict)
    sessions: dict[str, Any] = field(default_factory=dict)
    memberships: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, Any] = field(default_factory=dict)
    queries: dict[str, Any] = field(default_factory=dict)
    unblinding: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def users(self) -> dict[str, Any]:
        return {
            u.username: u
            for u in get_user_model().objects.filter(username__in=[d.username for d in DEMO_STAFF])
        }

    def in_arm(self, site: str, arm: str) -> Participant:
        return next(p for p in self.people[site] if self.arms[p.trial_id] == arm)


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _protocol() -> Protocol:
    """The IMR protocol with groups allowed to start at two members."""
    document = load_protocol().model_dump(mode="json")
    document["intervention"]["group_start_minimum"] = 2
    return Protocol.model_validate(document)


def _screened(site: Site, day: dt.date, context: Context) -> Participant:
    made = screen(
        site,
        screened_on=day,
        referral_source="clinician",
        answers=answers(),
        person=person(),
        context=context,
    )
    return made.participant


def _consent(participant: Participant, day: dt.date, context: Context) -> None:
    record_consent(
        participant, version="1.0", oral_on=day, written_on=day, taken_by=context.actor, context=context
    )


@contextlib.contextmanager
def built_once(django_db_blocker, tmp_path_factory, name: str):
    """:func:`build`, for a module-scoped fixture: its own data directory, fast password hashing, and the
    database flushed afterwards (the trial outlives the tests' transactions)."""
    import pytest
    from django.conf import settings
    from django.core.management import call_command

    from enrolment_support import TEST_KEY

    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setenv(keys.ENV_KEY, TEST_KEY)
        data_dir = tmp_path_factory.mktemp(name)
        patch.setattr(settings, "DATA_DIR", data_dir)
        patch.setattr(settings, "PASSWORD_HASHERS", ["django.contrib.auth.hashers.MD5PasswordHasher"])
        built = build()
        built.extra["data_dir"] = data_dir
        yield built
        call_command("flush", interactive=False, verbosity=0)


def build(today: dt.date | None = None) -> Trial:
    """Build the trial (call inside ``django_db_blocker.unblock()`` with the personal-data key set)."""
    from trialdesk.apps.datamanagement import locks, queries
    from trialdesk.apps.intervention import services as imr
    from trialdesk.apps.intervention.models import Session
    from trialdesk.apps.randomisation.unblinding import request_unblinding

    protocol = _protocol()
    today = today or clock.today()
    start = today - dt.timedelta(days=280)
    trial = Trial(protocol, today, start)
    setup = Context(actor="setup", channel="command", protocol_hash=protocol.content_hash)
    with clock.frozen(_at(start - dt.timedelta(days=10))):
        prepare(protocol, setup)
        install_rows(Context(actor="statistician", channel="web", protocol_hash=protocol.content_hash), 8)
    users = trial.users()
    for index, code in enumerate(SITES):
        suffix = "" if index == 0 else str(index + 1)
        coordinator = Context(
            actor=f"coordinator{suffix}", channel="web", protocol_hash=protocol.content_hash
        )
        site = Site.objects.get(code=code)
        people = []
        for _ in range(4):
            with clock.frozen(_at(start - dt.timedelta(days=3))):
                participant = _screened(site, start - dt.timedelta(days=3), coordinator)
                _consent(participant, start - dt.timedelta(days=3), coordinator)
            with clock.frozen(_at(start)):
                complete_visit(participant, "baseline", coordinator, start)
            with clock.frozen(_at(start + dt.timedelta(days=1))):
                randomise(participant, coordinator)
            participant.refresh_from_db()
            people.append(participant)
        trial.people[code] = people
        with clock.frozen(_at(today - dt.timedelta(days=6))):
            waiting = _screened(site, today - dt.timedelta(days=6), coordinator)
            _consent(waiting, today - dt.timedelta(days=6), coordinator)
            trial.waiting[code] = waiting
        with clock.frozen(_at(today - dt.timedelta(days=2))):
            trial.eligible[code] = _screened(site, today - dt.timedelta(days=2), coordinator)
    trial.arms = dict(Allocation.objects.values_list("participant__trial_id", "arm"))
    for index, code in enumerate(SITES):
        suffix = "" if index == 0 else str(index + 1)
        _deliver(trial, code, users[f"facilitator{suffix}"], imr, Session)
        _follow_up(trial, code, users[f"assessor{suffix}"])
        context = Context(actor="datamanager", channel="web", protocol_hash=protocol.content_hash)
        with clock.frozen(_at(today - dt.timedelta(days=20))):
            trial.queries[code] = queries.raise_query(
                trial.people[code][1], context, user=users["datamanager"], text=QUERY_TEXT
            )
        requester = users[f"coordinator{suffix}"]
        with clock.frozen(_at(today - dt.timedelta(days=1))):
            trial.unblinding[code] = request_unblinding(
                trial.people[code][2],
                requester,
                "serious adverse event: treating physician needs the arm",
                Context(actor=requester.username, channel="web", protocol_hash=protocol.content_hash),
            )
    _trial_wide(trial, users, imr, locks)
    return trial


def _deliver(trial: Trial, code: str, facilitator: Any, imr: Any, session_model: Any) -> None:
    context = Context(actor=facilitator.username, channel="web", protocol_hash=trial.protocol.content_hash)
    members = [p for p in trial.people[code] if trial.arms[p.trial_id] == "IMR"]
    first_day = trial.start + dt.timedelta(days=7)
    with clock.frozen(_at(trial.start + dt.timedelta(days=2))):
        colleague = user(f"cofacilitator-{code.lower()}", "facilitator", code)
        group = imr.create_group(
            Site.objects.get(code=code),
            GROUP_NAMES[code],
            facilitators=[facilitator, colleague],
            planned_start=first_day,
            weekday=first_day.weekday(),
            start_time=dt.time(18),
            context=context,
        )
        memberships = [imr.place(p, group, first_day, context) for p in members]
        imr.generate_schedule(group, context)
    with clock.frozen(_at(first_day, 9)):
        imr.start(group, first_day, context)
    sessions = list(session_model.objects.filter(group=group).order_by("number")[:3])
    for session in sessions:
        with clock.frozen(session.starts_at + dt.timedelta(hours=3)):
            imr.hold_session(
                session, minutes=90, modules=[1], facilitators_present=[facilitator], context=context
            )
            # The last member misses every session: the facilitator's home flags them.
            marks = {p.trial_id: "present" for p in members}
            marks[members[-1].trial_id] = "absent_without_notice"
            imr.record_attendance(session, marks, context)
    with clock.frozen(sessions[-1].starts_at + dt.timedelta(hours=4)):
        goal = imr.add_goal(members[0], GOAL_TEXT, sessions[0].starts_at.date(), context)
        trial.steps[code] = imr.add_step(goal, "Find the opening hours", context)
    group.refresh_from_db()
    trial.groups[code], trial.sessions[code], trial.memberships[code] = group, sessions[0], memberships[0]


def _follow_up(trial: Trial, code: str, assessor: Any) -> None:
    context = Context(actor=assessor.username, channel="web", protocol_hash=trial.protocol.content_hash)
    person = trial.people[code][0]
    day = trial.today - dt.timedelta(days=2)
    for instrument in trial.protocol.visit("m9").instruments:
        complete(person, "m9", instrument, context, day)
    assessments.record_guess(
        person, "m9", assessor, guess="TAU", confidence="2", guessed_on=day, context=context
    )


def _trial_wide(trial: Trial, users: dict[str, Any], imr: Any, locks: Any) -> None:
    from trialdesk.apps.analysis import services as analysis
    from trialdesk.apps.registers.services import import_register
    from trialdesk.apps.snapshots.snapshot import take_snapshot

    protocol_hash = trial.protocol.content_hash
    rater = users["fidelity"]
    with clock.frozen(_at(trial.start + dt.timedelta(days=40))):
        imr.rate(
            trial.groups["BAL"],
            rater=rater,
            rated_on=trial.start + dt.timedelta(days=39),
            source="observation",
            items={str(i): 4 for i in range(1, 14)},
            context=Context(actor=rater.username, channel="web", protocol_hash=protocol_hash),
        )
    holder = users["coordinator"]
    cpr = {row.participant_id: keys.decrypt(row.cpr_encrypted) for row in PersonalData.objects.all()}
    first = trial.people["BAL"][0]
    rows = [(cpr[first.pk], "er_visit", f"{trial.start + dt.timedelta(days=30):%Y-%m-%d}", "")]
    result = import_register(
        csv_bytes(rows),
        "extract.csv",
        Context(actor=holder.username, channel="import", protocol_hash=protocol_hash),
        user=holder,
    )
    trial.extra["register_import"] = result.register_import
    manager = users["datamanager"]
    dm = Context(actor=manager.username, channel="web", protocol_hash=protocol_hash)
    lock = locks.lock(
        "form",
        dm,
        user=manager,
        reason="monitoring visit done",
        participant=first,
        visit_code="baseline",
        instrument="panss",
    )
    trial.extra["lock"] = lock
    trial.extra["unlock_request"] = locks.request_unlock(lock, dm, user=manager, reason="correction needed")
    statistician = Context(actor="statistician", channel="command", protocol_hash=protocol_hash)
    trial.extra["snapshot"] = take_snapshot(statistician, "monthly blinded look", blinded=True)
    unblinded = take_snapshot(statistician, "analysis snapshot", blinded=False)
    trial.extra["analysis_run"] = analysis.run_now(statistician, unblinded.id)
    visit_person = trial.people["BAL"][1]
    _link, token = assessments.issue(
        visit_person,
        "m9",
        None,
        Context(actor="coordinator", channel="web", protocol_hash=protocol_hash),
    )
    trial.extra["token"] = token


def login_for(role: Role, site_index: int | None = 0) -> str:
    """The demo username with ``role`` at the given site (index into SITES; ignored for trial-wide roles)."""
    matches = [d for d in DEMO_STAFF if d.role is role]
    for login in matches:
        if login.site_index is None or login.site_index == site_index:
            return login.username
    return matches[0].username
