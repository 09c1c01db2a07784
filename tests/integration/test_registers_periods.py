"""Register counts per participant and period against hand-built extracts; every number counted by hand.

Baseline 10 March 2011: m9 is 10 December 2011, m21 is 10 December 2012 (IMR protocol visits).
baseline-m9 covers 10 Mar 2011 .. 9 Dec 2011: 22 days of March (10..31) + 30 + 31 + 30 + 31 + 31 + 30
+ 31 + 30 (April..November) + 9 days of December = 275 days. m9-m21 covers 10 Dec 2011 .. 9 Dec 2012:
366 days (29 February 2012 lies inside).
"""

import datetime as dt

import pytest

from enrolment_support import TEST_KEY, enrol, install
from registers_support import csv_bytes, keeper, randomised
from trialdesk import clock, datasets
from trialdesk.apps.consent.services import record_withdrawal
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants import keys
from trialdesk.apps.participants.services import read_personal_data, transition
from trialdesk.apps.participants.status import State
from trialdesk.apps.registers.followup import register_table
from trialdesk.apps.registers.periods import Event, Observation, Period, counts, periods
from trialdesk.apps.registers.services import import_register
from trialdesk.protocol import load_protocol

D = dt.date
IMR = (Period("baseline-m9", 0, 9), Period("m9-m21", 9, 21))
BASELINE = D(2011, 3, 10)


def table(events, observations=None, **options):
    observations = observations or (Observation("P1", BASELINE),)
    frame = counts(observations, [Event("P1", *e) for e in events], IMR, **options)
    return {row.period: row._asdict() for row in frame.drop(columns="trial_id").itertuples(index=False)}


def test_protocol_declares_the_two_imr_periods():
    assert periods(load_protocol()) == IMR


def test_follow_up_days_by_hand():
    rows = table([])
    assert rows["baseline-m9"]["followup_days"] == 275.0
    assert rows["m9-m21"]["followup_days"] == 366.0


def test_admission_spanning_the_9_month_boundary_is_split():
    # Admitted 5 Dec 2011, discharged 15 Dec 2011: nights of 5..9 Dec in baseline-m9 (5), 10..14 Dec in
    # m9-m21 (5).
    rows = table([("admission", D(2011, 12, 5), D(2011, 12, 15))])
    assert (rows["baseline-m9"]["admissions"], rows["baseline-m9"]["bed_days"]) == (1, 5)
    assert (rows["m9-m21"]["admissions"], rows["m9-m21"]["bed_days"]) == (0, 5)


def test_bed_days_same_day_admission_overlap_and_period_start_edge():
    rows = table([
        ("admission", D(2011, 4, 1), D(2011, 4, 1)),  # same day: 1 bed day
        ("admission", D(2011, 5, 1), D(2011, 5, 11)),  # 1..10 May: 10
        ("admission", D(2011, 5, 8), D(2011, 5, 14)),  # overlaps: adds 11..13 May only: 3
        ("admission", D(2011, 3, 1), D(2011, 3, 12)),  # before baseline: 10 and 11 March count: 2
        ("admission", D(2012, 12, 9), D(2012, 12, 20)),  # last day of m9-m21: 9 Dec only: 1
    ])
    assert rows["baseline-m9"]["bed_days"] == 1 + 10 + 3 + 2
    assert rows["baseline-m9"]["admissions"] == 3  # the pre-baseline admission does not start in the period
    assert (rows["m9-m21"]["bed_days"], rows["m9-m21"]["admissions"]) == (1, 1)


def test_point_events_on_the_boundary_day_belong_to_the_later_period():
    rows = table([
        ("er_visit", D(2011, 3, 9), D(2011, 3, 9)),  # day before baseline: not counted
        ("er_visit", D(2011, 3, 10), D(2011, 3, 10)),  # baseline day: baseline-m9
        ("er_visit", D(2011, 12, 9), D(2011, 12, 9)),  # last day of baseline-m9
        ("er_visit", D(2011, 12, 10), D(2011, 12, 10)),  # m9 target day: m9-m21
        ("outpatient_contact", D(2012, 2, 29), D(2012, 2, 29)),
        ("outpatient_contact", D(2012, 12, 10), D(2012, 12, 10)),  # after follow-up
    ])
    assert (rows["baseline-m9"]["er_visits"], rows["m9-m21"]["er_visits"]) == (2, 1)
    assert (rows["baseline-m9"]["outpatient_contacts"], rows["m9-m21"]["outpatient_contacts"]) == (0, 1)


def test_end_of_follow_up_clips_days_counts_and_bed_days():
    # Follow-up ends on 20 Jan 2012 (exclusive): m9-m21 observed 10 Dec 2011 .. 19 Jan 2012 = 22 + 19
    # = 41 days.
    ended = (Observation("P1", BASELINE, ends=D(2012, 1, 20)),)
    rows = table([
        ("admission", D(2012, 1, 15), D(2012, 1, 25)),  # 15..19 Jan observed: 5
        ("er_visit", D(2012, 1, 20), D(2012, 1, 20)),  # after the end
    ], ended)
    assert rows["m9-m21"] == {"period": "m9-m21", "admissions": 1, "bed_days": 5, "er_visits": 0,
                              "outpatient_contacts": 0, "followup_days": 41.0}
    assert rows["baseline-m9"]["followup_days"] == 275.0


def test_periods_without_an_observed_day_are_left_out():
    ended = (Observation("P1", BASELINE, ends=D(2011, 12, 10)),)
    assert list(table([], ended)) == ["baseline-m9"]
    # ``through``: the extract covers up to 31 May 2011: 22 + 30 + 31 = 83 days.
    rows = table([], through=D(2011, 5, 31))
    assert list(rows) == ["baseline-m9"]
    assert rows["baseline-m9"]["followup_days"] == 83.0


def test_month_end_baseline_in_a_leap_year():
    # Baseline 31 May 2011: m9 = 29 Feb 2012 (clamped), m21 = 28 Feb 2013. baseline-m9: 1 (31 May) + 30 + 31
    # + 31 + 30 + 31 + 30 + 31 + 31 (June..January) + 28 (1..28 Feb) = 274 days; m9-m21: 29 Feb 2012 ..
    # 27 Feb 2013 = 1 + 31 + 30 + 31 + 30 + 31 + 31 + 30 + 31 + 30 + 31 + 31 + 27 = 365 days.
    rows = table([("er_visit", D(2012, 2, 29), D(2012, 2, 29))], (Observation("P1", D(2011, 5, 31)),))
    assert (rows["baseline-m9"]["followup_days"], rows["m9-m21"]["followup_days"]) == (274.0, 365.0)
    assert (rows["baseline-m9"]["er_visits"], rows["m9-m21"]["er_visits"]) == (0, 1)


def test_frame_fits_the_register_analysis_table():
    frame = counts([Observation("P2", BASELINE), Observation("P1", BASELINE)], [], IMR)
    assert list(frame.columns) == datasets.TABLES["register"].column_names
    assert list(zip(frame.trial_id, frame.period, strict=True)) == [
        ("P1", "baseline-m9"), ("P1", "m9-m21"), ("P2", "baseline-m9"), ("P2", "m9-m21")]
    assert str(frame.bed_days.dtype) == "int64"
    assert str(frame.followup_days.dtype) == "float64"
    datasets.check("register", frame)


@pytest.mark.django_db
def test_register_table_from_imported_events_and_follow_up_in_the_database(monkeypatch):
    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)
    ctx = install()
    alive, dies, withdraws, leaves_all = (randomised(ctx, BASELINE) for _ in range(4))
    with clock.frozen(dt.datetime(2011, 3, 10, 11, tzinfo=dt.UTC)):
        not_randomised = enrol(ctx)  # baseline complete, never randomised: no register follow-up
    cpr = {p.pk: read_personal_data(p, ctx).cpr for p in (alive, dies, withdraws, leaves_all, not_randomised)}
    rows = [
        (cpr[alive.pk], "admission", "2011-12-05", "2011-12-15"),
        (cpr[dies.pk], "er_visit", "2011-04-01", ""),
        (cpr[withdraws.pk], "outpatient_contact", "2011-04-01", ""),
        (cpr[leaves_all.pk], "er_visit", "2011-04-01", ""),
        (cpr[not_randomised.pk], "er_visit", "2011-04-01", ""),
    ]
    import_register(csv_bytes(rows), "x.csv", Context(actor="keeper", channel="import"), user=keeper())
    with clock.frozen(dt.datetime(2011, 6, 30, 12, tzinfo=dt.UTC)):
        transition(dies, State.DIED, ctx, reason="died")
        record_withdrawal(withdraws, withdrawn_on=D(2011, 5, 1), scope="data_collection", context=ctx)
        record_withdrawal(leaves_all, withdrawn_on=D(2011, 5, 1), scope="all_data", context=ctx)
    frame = register_table()
    by_key = {(r.trial_id, r.period): r for r in frame.itertuples(index=False)}
    assert by_key[(alive.trial_id, "baseline-m9")].bed_days == 5
    assert by_key[(alive.trial_id, "m9-m21")].bed_days == 5
    # Died: the status event was recorded 30 June 2011, so observed 10 Mar .. 30 Jun = 22+30+31+30 = 113 days.
    assert by_key[(dies.trial_id, "baseline-m9")].followup_days == 113.0
    assert by_key[(dies.trial_id, "baseline-m9")].er_visits == 1
    assert (dies.trial_id, "m9-m21") not in by_key
    # Withdrew from data collection on 1 May 2011: observed 10 Mar .. 30 Apr = 22 + 30 = 52 days.
    assert by_key[(withdraws.trial_id, "baseline-m9")].followup_days == 52.0
    # Withdrew consent to any use of their data: not in the table at all.
    assert leaves_all.trial_id not in set(frame.trial_id)
    assert not_randomised.trial_id not in set(frame.trial_id)
    assert len(frame) == 2 + 1 + 1


@pytest.mark.django_db
def test_the_baseline_visits_date_in_the_assessments_app_starts_follow_up(monkeypatch):
    from trialdesk.apps.assessments.services.schedule import change_baseline_date

    monkeypatch.setenv(keys.ENV_KEY, TEST_KEY)
    ctx = install()
    dated, undated = randomised(ctx, BASELINE), randomised(ctx, BASELINE)  # status events on 10 March 2011
    with clock.frozen(dt.datetime(2011, 4, 1, 12, tzinfo=dt.UTC)):
        change_baseline_date(dated, D(2011, 3, 15), ctx, reason="baseline interview held on 15 March")
    rows = []
    for person in (dated, undated):
        cpr = read_personal_data(person, ctx).cpr
        rows += [(cpr, "er_visit", "2011-03-12", ""), (cpr, "admission", "2011-12-10", "2011-12-20")]
    import_register(csv_bytes(rows), "x.csv", Context(actor="keeper", channel="import"), user=keeper())
    frame = register_table()
    by_key = {(r.trial_id, r.period): r for r in frame.itertuples(index=False)}
    # Baseline 15 March: m9 is 15 December; the 12 March visit is before follow-up; the stay's nights of
    # 10..14 December (5) fall in baseline-m9 and 15..19 December (5) in m9-m21.
    assert by_key[(dated.trial_id, "baseline-m9")].er_visits == 0
    assert by_key[(dated.trial_id, "baseline-m9")].bed_days == 5
    assert by_key[(dated.trial_id, "m9-m21")].bed_days == 5
    # No dated baseline visit: the status event's 10 March; m9 is 10 December, the whole stay is in m9-m21.
    assert by_key[(undated.trial_id, "baseline-m9")].er_visits == 1
    assert by_key[(undated.trial_id, "m9-m21")].bed_days == 10
