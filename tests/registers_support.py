"""Shared set-up for the register tests (imported by their modules; not a test file).

Participants are made through the real services, with the clock frozen so each has a known baseline
date (the local date of its baseline_complete status event).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.db import connection

from enrolment_support import enrol, user
from trialdesk import clock
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.services import transition
from trialdesk.apps.participants.status import State

HEADER = ("cpr", "event", "start_date", "end_date")


def randomised(context: Context, baseline: dt.date, site_code: str = "BAL"):
    """A randomised participant whose baseline was completed on ``baseline`` (midday, Copenhagen)."""
    with clock.frozen(dt.datetime.combine(baseline, dt.time(11, 0), tzinfo=dt.UTC)):
        participant = enrol(context, site_code)
        transition(participant, State.RANDOMISED, context)
    participant.refresh_from_db()
    return participant


def keeper(name: str = "keeper", site_code: str | None = None):
    """A data manager who holds the personal-data key (import-registers)."""
    return user(name, "data_manager", site_code, personal_data=True)


def csv_bytes(rows, header=HEADER, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def row_counts() -> dict[str, int]:
    """Rows in every table the import could write to (a background job's own bookkeeping aside)."""
    from trialdesk.apps.ledger.models import LedgerEntry
    from trialdesk.apps.registers.models import RegisterEvent, RegisterImport

    return {
        "events": RegisterEvent.objects.count(),
        "imports": RegisterImport.objects.count(),
        "ledger": LedgerEntry.objects.exclude(entity="register-import-job").count(),
    }


def upload_and_run(client, data: bytes, name: str = "extract.csv", **fields):
    """Upload an extract on the web page and run its job in this process, as the worker would; the answer
    to the upload when it is refused at once, else the job's page once the job has ended."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import resolve

    from trialdesk.apps.registers import jobs

    response = client.post("/registers/", {"extract": SimpleUploadedFile(name, data, "text/csv"), **fields})
    if response.status_code != 302:
        return response
    jobs.run(resolve(response["Location"]).kwargs["pk"])
    return client.get(response["Location"])


def all_stored_text() -> str:
    """Every value of every row of the register and ledger tables, as one string to scan."""
    chunks = []
    with connection.cursor() as cursor:
        for table in ("registers_registerimport", "registers_registerevent", "ledger_ledgerentry"):
            cursor.execute(f"SELECT * FROM {table}")
            chunks.extend(str(value) for row in cursor.fetchall() for value in row)
    return "\n".join(chunks)
