"""Benchmark: importing a 10,000-row register extract (200 randomised participants, 50 events each).

Measures ``import_register`` end to end on a fresh SQLite database (or DATABASE_URL): read and validate,
link through the key table, store events with one ledger entry each, reconciliation report. Then a
re-import of the same file (everything already present). Baseline in the same run: ``pandas.read_csv``
of the same bytes plus a plain ``bulk_create`` of the same events with no validation, linking or
ledger, i.e. the cost of just getting the rows into the table.

Run: .venv/bin/python bench/bench_registers_import.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import random
import tempfile
import time

PARTICIPANTS = 200
BASELINE = dt.date(2011, 3, 10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    rows_wanted = parser.parse_args().rows
    os.environ.setdefault("TRIALDESK_DATA_DIR", tempfile.mkdtemp(prefix="bench-registers-"))
    from cryptography.fernet import Fernet

    os.environ.setdefault("TRIALDESK_PERSONAL_DATA_KEY", Fernet.generate_key().decode())
    from trialdesk.web.bootstrap import setup

    setup(migrate=True)
    import pandas as pd
    from django.db import connection, transaction

    from trialdesk import clock
    from trialdesk.apps.accounts.services import create_user, grant_role
    from trialdesk.apps.consent.services import record_consent
    from trialdesk.apps.ledger.services import Context
    from trialdesk.apps.participants.services import PersonalDetails, transition
    from trialdesk.apps.participants.status import State
    from trialdesk.apps.registers.models import RegisterEvent, RegisterImport
    from trialdesk.apps.registers.services import import_register
    from trialdesk.apps.screening.services import screen
    from trialdesk.apps.trial.models import Site
    from trialdesk.apps.trial.services import install_protocol
    from trialdesk.protocol import load_protocol

    protocol = load_protocol()
    ctx = Context(actor="bench", channel="command", protocol_hash=protocol.content_hash)
    install_protocol(protocol, ctx)
    site = Site.objects.get(code=protocol.sites[0].code)
    answers = {"I2": True, "I3": "F20.0", "I4": True, "I5": True, "E1": False, "E2": "", "E3": False,
               "E4": False, "E5": False, "E6": False}
    people = []
    with clock.frozen(dt.datetime(2011, 3, 10, 11, tzinfo=dt.UTC)):
        for serial in range(PARTICIPANTS):
            cpr = f"010180-{serial + 1:04d}"
            found = screen(site, screened_on=dt.date(2011, 3, 1), referral_source="clinician",
                           answers=answers, person=PersonalDetails(cpr=cpr, name="Bench Person"), context=ctx)
            participant = found.participant
            record_consent(participant, version="1.0", oral_on=dt.date(2011, 3, 1),
                           written_on=dt.date(2011, 3, 1), taken_by="bench", context=ctx)
            transition(participant, State.BASELINE_COMPLETE, ctx)
            transition(participant, State.RANDOMISED, ctx)
            people.append((participant, cpr))
    keeper = create_user("keeper", "bench-password-1", ctx, check_password=False)
    grant_role(keeper, "data_manager", ctx, personal_data=True)

    rng = random.Random(2011)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["cpr", "event", "start_date", "end_date"])
    seen: set[tuple] = set()
    while len(seen) < rows_wanted:
        participant, cpr = people[rng.randrange(PARTICIPANTS)]
        event = rng.choice(["admission", "er_visit", "outpatient_contact", "outpatient_contact"])
        start = BASELINE + dt.timedelta(days=rng.randrange(640))
        end = start + dt.timedelta(days=rng.randrange(1, 30)) if event == "admission" else None
        key = (cpr, event, start, end)
        if key not in seen:
            seen.add(key)
            writer.writerow([cpr, event, start.isoformat(), end.isoformat() if end else ""])
    data = buffer.getvalue().encode()
    imp = Context(actor="keeper", channel="import", protocol_hash=protocol.content_hash)

    # Baseline: read with pandas and bulk-insert the same events, no checks, no ledger (rolled back, so the
    # import below starts from an empty table).
    started = time.perf_counter()
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    ids = {cpr: participant for participant, cpr in people}
    with transaction.atomic():
        holder = RegisterImport.objects.create(
            file_name="baseline", file_sha256="0" * 64, imported_by="bench", imported_at=clock.now(),
            rows_read=0, rows_matched=0, events_created=0, events_already_present=0, report={})
        RegisterEvent.objects.bulk_create(
            RegisterEvent(participant=ids[r.cpr], kind=r.event, starts_on=dt.date.fromisoformat(r.start_date),
                          ends_on=dt.date.fromisoformat(r.end_date or r.start_date), row_hash=f"b{i}",
                          register_import=holder)
            for i, r in enumerate(frame.assign(kind=frame.event).itertuples(index=False)))
        baseline_s = time.perf_counter() - started
        transaction.set_rollback(True)

    started = time.perf_counter()
    first = import_register(data, "bench.csv", imp, user=keeper).report
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    again = import_register(data, "bench.csv", imp, user=keeper).report
    again_s = time.perf_counter() - started

    print(f"database: {connection.vendor}; rows: {first['rows_read']}; created: {first['events_created']}; "
          f"re-import already present: {again['events_already_present']}")
    print(f"import (validate, link, store, ledger, report): {first_s:.2f} s")
    print(f"re-import of the same file (nothing new):        {again_s:.2f} s")
    print(f"baseline (pandas read_csv + bulk_create, no checks/ledger): {baseline_s:.2f} s")
    print(f"ratio import / baseline: {first_s / baseline_s:.1f}; "
          f"re-import / baseline: {again_s / baseline_s:.1f}")


if __name__ == "__main__":
    main()
