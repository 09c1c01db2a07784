"""A small demo (24 participants) end to end through the real services: what the database holds must be
what the generator made, the ledger must verify, and the CONSORT flow of the snapshot must add up."""

from __future__ import annotations

from collections import Counter

import pytest
from cryptography.fernet import Fernet

from trialdesk.apps.assessments.models import AllocationGuess, Assessment, Visit
from trialdesk.apps.intervention.models import Attendance, FidelityRating, Group, GroupMembership, Session
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import verify_ledger
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.randomisation.models import Allocation
from trialdesk.apps.registers.models import RegisterEvent
from trialdesk.apps.screening.models import Screening
from trialdesk.apps.snapshots.snapshot import load_snapshot
from trialdesk.demo.driver import run_demo
from trialdesk.demo.registers import distinct
from trialdesk.protocol import load_protocol
from trialdesk.reporting.consort import count_consort, reconcile

pytestmark = pytest.mark.django_db

N = 24
#: Every stage but the report (the analysis plan and the report have their own tests).
STAGES = ("population", "setup", "enrolment", "course", "delivery", "follow-up", "registers", "close-out")


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.conf import settings
    from django.core.management import call_command

    data_dir = tmp_path_factory.mktemp("demo-data")
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRIALDESK_PERSONAL_DATA_KEY", Fernet.generate_key().decode())
        patch.setattr(settings, "DATA_DIR", data_dir)
        patch.setattr(settings, "PASSWORD_HASHERS", ["django.contrib.auth.hashers.MD5PasswordHasher"])
        result = run_demo(load_protocol(), n=N, seed=2011, out=data_dir / "out", stages=STAGES)
        yield result
        call_command("flush", interactive=False, verbosity=0)


def test_screening_and_randomisation_match_the_generator(demo):
    population = demo.data["population"]
    assert Screening.objects.count() == len(population.screening)
    assert Participant.objects.count() == population.screening["trial_id"].nunique()
    stored = set(Participant.objects.values_list("trial_id", flat=True))
    assert stored == set(population.screening["trial_id"])
    arms = Counter(Allocation.objects.values_list("arm", flat=True))
    assert sum(arms.values()) == N
    assert arms == Counter(demo.data["participants"]["arm"])


def test_forms_per_visit_match_the_generator(demo):
    follow = demo.data["follow"]
    baseline = demo.data["baseline_items"].groupby(["trial_id", "instrument"]).ngroups
    expected = Counter({"baseline": baseline + N})  # + the baseline characteristics form
    complete = follow.assessments[follow.assessments["status"] == "complete"]
    expected.update(Counter(complete["visit"]))
    stored = Counter(Assessment.objects.filter(status="complete").values_list("visit__code", flat=True))
    assert stored == expected
    seen = follow.visits["done_on"].notna()
    assert Visit.objects.exclude(missed_reason="").count() == int((~seen).sum())
    assert AllocationGuess.objects.count() == len(follow.guesses)


def test_delivery_matches_the_generator(demo):
    delivery, counts = demo.data["delivery"], demo.counts["delivery"]
    # generated slots past the app's 9-month schedule are left out, and counted
    past_held = counts.get("held slots past the schedule", 0)
    past_marks = counts.get("attendance marks past the schedule", 0)
    assert Group.objects.count() == len(delivery.groups)
    assert GroupMembership.objects.count() == len(delivery.memberships)
    assert Session.objects.filter(status="held").count() == int(delivery.sessions["held"].sum()) - past_held
    assert Attendance.objects.count() == len(delivery.attendance) - past_marks
    scheduled = {g.name: g.sessions.count() for g in Group.objects.all()}
    sessions = delivery.sessions[["group_id", "slot", "session_number", "held"]]
    kept = {(g, int(n)) for g, slot, n, on in sessions.itertuples(index=False) if on and slot <= scheduled[g]}
    marks = delivery.attendance[["group_id", "session_number", "attended"]]
    present = [(g, n) in kept and a for g, n, a in marks.itertuples(index=False)]
    assert Attendance.objects.filter(status="present").count() == sum(present)
    assert FidelityRating.objects.count() == len(delivery.fidelity)
    assert set(Group.objects.values_list("status", flat=True)) == {"finished"}


def test_register_events_match_the_generator(demo):
    events = distinct(demo.data["register_events"])
    stored = Counter(RegisterEvent.objects.values_list("kind", flat=True))
    assert stored == Counter(events["event"])


def test_the_ledger_verifies_and_dates_are_simulated(demo):
    assert verify_ledger().ok
    first = LedgerEntry.objects.filter(entity="screening").order_by("seq").first()
    assert first.at.date() == demo.data["population"].screening["screened_on"].min()


def test_consort_of_the_snapshot_adds_up(demo):
    tables = load_snapshot(demo.paths["snapshot"])
    counts = count_consort(tables, intervention_arms={"IMR"})
    assert reconcile(counts) == []
    final = demo.data["population"].screening.drop_duplicates("trial_id", keep="last")
    assert counts.assessed == len(final)
    assert counts.not_meeting == int((~final["eligible"].astype(bool)).sum())
    assert counts.randomised == N
    assert counts.randomised + counts.excluded == counts.assessed
    statuses = dict(Participant.objects.filter(allocation__isnull=False).values_list("trial_id", "status"))
    assert statuses == demo.data["follow"].final_status


def test_a_second_demo_on_the_same_database_is_refused(demo):
    from trialdesk.demo.reset import refuse_unless_empty
    from trialdesk.errors import UserError

    with pytest.raises(UserError, match=r"already holds a trial \(\d+ participants\).*demo --reset"):
        refuse_unless_empty()
