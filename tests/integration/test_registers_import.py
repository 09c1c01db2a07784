"""Register import: linking through the key table, all-or-nothing, idempotence, reconciliation report."""

import datetime as dt
import io
import logging

import pytest

from enrolment_support import install, new_cpr, user
from registers_support import all_stored_text, csv_bytes, keeper, randomised, row_counts
from trialdesk.apps.consent.services import record_withdrawal
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants import keys
from trialdesk.apps.participants.services import find_by_cpr, read_personal_data
from trialdesk.apps.registers import services
from trialdesk.apps.registers.models import RegisterEvent, RegisterImport
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]

BASELINE = dt.date(2011, 3, 10)


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def imp():
    return Context(actor="keeper", channel="import")


@pytest.fixture
def people(ctx):
    """Two randomised participants and their CPR numbers (read back through the key table)."""
    first, second = randomised(ctx, BASELINE), randomised(ctx, BASELINE)
    return [(p, read_personal_data(p, ctx).cpr) for p in (first, second)]


def run(data: bytes, context, who, **options):
    return services.import_register(data, "extract.csv", context, user=who, **options)


def test_events_are_stored_pseudonymised_with_a_ledger_entry_each(people, imp):
    (p1, cpr1), (p2, cpr2) = people
    who = keeper()
    before = LedgerEntry.objects.count()
    data = csv_bytes([
        (cpr1, "admission", "2011-04-01", "2011-04-10"),
        (cpr1.replace("-", ""), "er_visit", "2011-05-02", ""),
        (cpr2, "outpatient_contact", "01-06-2011", ""),
        (cpr2, "ADMISSION", "15.07.2011", "20.07.2011"),
    ])
    report = run(data, imp, who).report
    assert (report["rows_read"], report["rows_matched"], report["rows_unmatched"]) == (4, 4, 0)
    assert (report["events_created"], report["events_already_present"]) == (4, 0)
    assert report["by_event"] == {"admission": 2, "er_visit": 1, "outpatient_contact": 1}
    stored = {(e.participant.trial_id, e.kind, e.starts_on, e.ends_on) for e in RegisterEvent.objects.all()}
    assert stored == {
        (p1.trial_id, "admission", dt.date(2011, 4, 1), dt.date(2011, 4, 10)),
        (p1.trial_id, "er_visit", dt.date(2011, 5, 2), dt.date(2011, 5, 2)),
        (p2.trial_id, "outpatient_contact", dt.date(2011, 6, 1), dt.date(2011, 6, 1)),
        (p2.trial_id, "admission", dt.date(2011, 7, 15), dt.date(2011, 7, 20)),
    }
    entries = LedgerEntry.objects.filter(seq__gt=before)
    assert entries.filter(entity="register-event", action="create").count() == 4
    summary = entries.get(entity="register-import")
    assert '"events_created": 4' in summary.new_value
    assert summary.channel == "import"
    assert {e.participant for e in entries.filter(entity="register-event")} == {p1.trial_id, p2.trial_id}


def test_linking_agrees_with_find_by_cpr(people, imp):
    (p1, cpr1), _ = people
    run(csv_bytes([(cpr1, "er_visit", "2011-05-02", "")]), imp, keeper())
    assert RegisterEvent.objects.get().participant == find_by_cpr(cpr1) == p1


def test_reimport_is_idempotent_and_reports_events_already_present(people, imp):
    (_, cpr1), (_, cpr2) = people
    who = keeper()
    data = csv_bytes([(cpr1, "admission", "2011-04-01", "2011-04-10"), (cpr2, "er_visit", "2011-05-02", "")])
    first = run(data, imp, who).register_import
    events = RegisterEvent.objects.count()
    second = run(data, imp, who).report
    assert RegisterEvent.objects.count() == events == 2
    assert (second["events_created"], second["events_already_present"]) == (0, 2)
    assert second["already_present_rows"] == [2, 3]
    assert second["earlier_imports_of_this_file"] == [first.pk]
    # A later extract overlapping the first stores only what is new.
    third = run(data + csv_bytes([(cpr2, "er_visit", "2011-06-02", "")], header=()).lstrip(b"\n"), imp, who)
    assert (third.report["events_created"], third.report["events_already_present"]) == (1, 2)
    assert RegisterEvent.objects.count() == 3


def _refused(data, context, who, **options) -> str:
    before = row_counts()
    with pytest.raises(UserError) as refused:
        run(data, context, who, **options)
    assert row_counts() == before, "a rejected import stored something"
    return str(refused.value)


def test_unknown_cpr_refuses_the_import_naming_the_row_masked(people, imp):
    (_, cpr1), _ = people
    stranger = new_cpr()
    data = csv_bytes([(cpr1, "er_visit", "2011-05-02", ""), (stranger, "er_visit", "2011-05-03", "")])
    message = _refused(data, imp, keeper())
    assert "the extract was not imported: 1 row with a CPR number that is not in the key table" in message
    assert f"row 3: {stranger[:6]}-****" in message
    assert stranger not in message
    assert stranger.replace("-", "") not in message


def test_unmatched_rows_can_be_accepted_and_are_reported_masked(people, imp):
    (_, cpr1), _ = people
    stranger = new_cpr()
    data = csv_bytes([(cpr1, "er_visit", "2011-05-02", ""), (stranger, "er_visit", "2011-05-03", "")])
    report = run(data, imp, keeper(), accept_unmatched=True).report
    assert (report["rows_matched"], report["rows_unmatched"], report["events_created"]) == (1, 1, 1)
    assert report["unmatched"] == [{"row": 3, "cpr": f"{stranger[:6]}-****"}]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("{cpr}", "admission", "2011-04-10", "2011-04-01")],
         "row 3, column end_date: discharge date 2011-04-01 is before the start date 2011-04-10"),
        ([("{cpr}", "er_visit", "2011-05-02", ""), ("{cpr}", "er_visit", "2011-05-02", "")],
         "row 4: duplicates row 3 (same cpr, event, start_date, end_date)"),
        ([("{cpr}", "er_visit", "2011-02-30", "")],
         "row 3, column start_date: not a date (write YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY)"),
        ([("{cpr}", "er_visit", "soon", "")], "row 3, column start_date: not a date"),
        ([("{cpr}", "admission", "2011-04-01", "")],
         "row 3, column end_date: empty; an admission needs its discharge date"),
        ([("{cpr}", "admision", "2011-04-01", "2011-04-02")],
         "row 3, column event: unknown event type 'admision'; expected one of admission, er_visit, "
         "outpatient_contact"),
        ([("{cpr}", "er_visit", "", "")], "row 3, column start_date: empty; a date is required"),
        ([("3002801234", "er_visit", "2011-05-02", "")],
         "row 3, column cpr: not a valid CPR number (DDMMYY-SSSS with a real birth date)"),
    ],
    ids=["discharge-before-admission", "duplicated-row", "impossible-date", "non-date", "no-discharge",
         "unknown-event", "no-start", "bad-cpr"],
)  # fmt: skip
def test_bad_rows_refuse_the_whole_import_with_a_clear_message(people, imp, rows, expected):
    (_, cpr1), (_, cpr2) = people
    good = [(cpr2, "er_visit", "2011-05-09", "")]  # row 2, fine alone: nothing may be stored
    data = csv_bytes(good + [tuple(c.format(cpr=cpr1) for c in row) for row in rows])
    message = _refused(data, imp, keeper())
    assert message.splitlines()[1:] == [expected] or expected in message.splitlines()[1]
    assert cpr1 not in message
    assert cpr1.replace("-", "") not in message
    assert "3002801234" not in message


def test_every_problem_is_listed_at_once(people, imp):
    (_, cpr1), _ = people
    data = csv_bytes([(cpr1, "admission", "2011-04-10", "2011-04-01"), (cpr1, "visit", "2011-13-01", "")])
    message = _refused(data, imp, keeper())
    assert message.splitlines()[0] == "the extract was not imported (3 problems):"
    assert "row 2, column end_date" in message
    assert "row 3, column event" in message
    assert "row 3, column start_date" in message


def test_a_missing_column_is_named(people, imp):
    (_, cpr1), _ = people
    data = csv_bytes([(cpr1, "er_visit", "2011-05-02")], header=("cpr", "event", "start_date"))
    assert _refused(data, imp, keeper()) == (
        "row 1 (header): missing column(s) end_date; an extract needs the columns cpr, event, start_date, "
        "end_date"
    )


def test_empty_and_header_only_files_are_refused(people, imp):
    assert "empty" in _refused(b"", imp, keeper())
    assert "no event rows" in _refused(csv_bytes([]), imp, keeper("keeper2"))


def test_semicolon_csv_with_extra_columns_and_blank_rows(people, imp):
    (_, cpr1), _ = people
    data = csv_bytes(
        [(cpr1, "er_visit", "2011-05-02", "", "x"), ("", "", "", "", ""),
         (cpr1, "er_visit", "2011-05-03", "", "")],
        header=("CPR", "Event", "Start_Date", "End_Date", "hospital"), delimiter=";",
    )  # fmt: skip
    report = run(data, imp, keeper()).report
    assert (report["rows_read"], report["events_created"], report["ignored_columns"]) == (2, 2, ["hospital"])


def test_excel_extract_with_date_cells_and_a_number_cell_cpr(people, imp):
    from openpyxl import Workbook

    (_, cpr1), _ = people
    book = Workbook()
    sheet = book.active
    sheet.append(["cpr", "event", "start_date", "end_date"])
    # Excel turns 010180-0001 typed without the hyphen into the number 101800001.
    sheet.append([int(cpr1.replace("-", "")), "admission", dt.datetime(2011, 4, 1), dt.date(2011, 4, 3)])
    sheet.append([cpr1, "er_visit", "2011-05-02", None])
    buffer = io.BytesIO()
    book.save(buffer)
    report = services.import_register(buffer.getvalue(), "extract.xlsx", imp, user=keeper()).report
    assert report["events_created"] == 2
    assert RegisterEvent.objects.get(kind="admission").ends_on == dt.date(2011, 4, 3)


def test_a_damaged_excel_file_is_refused_cleanly(people, imp):
    assert "the Excel file cannot be read" in _refused(b"PK\x03\x04 not really a zip", imp, keeper())


def test_only_key_holders_may_import(people, imp):
    (_, cpr1), _ = people
    data = csv_bytes([(cpr1, "er_visit", "2011-05-02", "")])
    plain = user("dm", "data_manager")  # no personal-data permission
    assert "personal-data key holder" in _refused(data, imp, plain)
    assert "personal-data key holder" in _refused(data, imp, user("anna", "assessor", "BAL"))


def test_a_site_key_holder_cannot_import_another_sites_participants(ctx, imp):
    here, there = randomised(ctx, BASELINE, "BAL"), randomised(ctx, BASELINE, "FRB")
    cprs = [read_personal_data(p, ctx).cpr for p in (here, there)]
    data = csv_bytes([(cprs[0], "er_visit", "2011-05-02", ""), (cprs[1], "er_visit", "2011-05-02", "")])
    site_keeper = user("signe2", "coordinator", "BAL", personal_data=True)
    message = _refused(data, imp, site_keeper)
    assert f"row 3: participant {there.trial_id} is at a site where you may not import" in message


def test_report_lists_dates_outside_follow_up_and_overlapping_admissions(people, imp):
    (p1, cpr1), (p2, cpr2) = people
    data = csv_bytes([
        (cpr1, "admission", "2011-04-01", "2011-04-10"),
        (cpr1, "admission", "2011-04-08", "2011-04-20"),  # overlaps the one above
        (cpr1, "admission", "2011-04-20", "2011-04-25"),  # readmitted on the discharge day: a transfer
        (cpr2, "er_visit", "2011-03-05", ""),  # consented 1 March, baseline 10 March: before follow-up
        (cpr2, "er_visit", "2012-12-10", ""),  # 21 months after baseline: after follow-up
    ])
    report = run(data, imp, keeper()).report
    assert report["overlapping_admissions"] == [{
        "trial_id": p1.trial_id,
        "first": "row 2 (2011-04-01 to 2011-04-10)",
        "second": "row 3 (2011-04-08 to 2011-04-20)",
    }]
    outside = [(o["row"], o["trial_id"], o["reason"]) for o in report["outside_follow_up"]]
    assert outside == [
        (5, p2.trial_id, "starts before follow-up began (2011-03-10)"),
        (6, p2.trial_id, "starts after follow-up ended (2012-12-09)"),
    ]
    assert report["events_created"] == 5  # outside follow-up is reported, not refused


def test_overlap_with_an_admission_stored_earlier_is_reported(people, imp):
    (p1, cpr1), _ = people
    who = keeper()
    run(csv_bytes([(cpr1, "admission", "2011-04-01", "2011-04-10")]), imp, who)
    report = run(csv_bytes([(cpr1, "admission", "2011-04-05", "2011-04-06")]), imp, who).report
    assert report["overlapping_admissions"] == [{
        "trial_id": p1.trial_id, "first": "stored (2011-04-01 to 2011-04-10)",
        "second": "row 2 (2011-04-05 to 2011-04-06)",
    }]


def test_events_after_withdrawal_from_data_collection_are_not_stored(people, ctx, imp):
    (p1, cpr1), _ = people
    record_withdrawal(p1, withdrawn_on=dt.date(2011, 6, 1), scope="data_collection", context=ctx)
    data = csv_bytes([(cpr1, "er_visit", "2011-05-31", ""), (cpr1, "er_visit", "2011-06-01", "")])
    report = run(data, imp, keeper()).report
    assert report["events_created"] == 1
    assert report["not_stored"] == [{
        "row": 3, "trial_id": p1.trial_id,
        "reason": "dated on or after withdrawal from register data collection (2011-06-01)",
    }]
    assert RegisterEvent.objects.get().starts_on == dt.date(2011, 5, 31)


def test_cpr_numbers_never_reach_logs_ledger_stored_rows_or_reports(people, imp, caplog):
    (_, cpr1), (_, cpr2) = people
    stranger = new_cpr()
    caplog.set_level(logging.DEBUG)
    data = csv_bytes([
        (cpr1, "admission", "2011-04-01", "2011-04-10"),
        (cpr2, "er_visit", "2011-05-02", ""),
        (stranger, "er_visit", "2011-05-02", ""),
    ])
    who = keeper()
    messages = []
    for options in ({}, {"accept_unmatched": True}):
        try:
            result = services.import_register(data, f"extract-{stranger}.csv", imp, user=who, **options)
        except UserError as refused:
            messages.append(str(refused))
    stored = all_stored_text()
    text = "\n".join([stored, *messages, caplog.text, repr(result.report), str(RegisterImport.objects.get())])
    assert "register import" in caplog.text  # the log line was written, and is scanned
    for number in (cpr1, cpr2, stranger):
        assert number not in text
        assert number.replace("-", "") not in text
    assert f"{stranger[:6]}-****" in text


def test_import_needs_the_personal_data_key(people, imp, monkeypatch):
    (_, cpr1), _ = people
    monkeypatch.delenv(keys.ENV_KEY)
    monkeypatch.delenv(keys.ENV_KEY_FILE, raising=False)
    data = csv_bytes([(cpr1, "er_visit", "2011-05-02", "")])
    assert "no personal-data key" in _refused(data, imp, keeper())
