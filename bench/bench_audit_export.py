"""Benchmark: the audit CSV export, and the cost of the lock guard on ledger appends.

1. Exporting N ledger entries (default 100,000) with ``datamanagement.audit.csv_lines`` (chunked reads,
   rows written as they come) against a naive export in the same run: every entry loaded from the ORM into
   a pandas frame, then ``to_csv``. Prints time and peak Python memory (tracemalloc) of each, and ratios.
2. Appending 10,000 entries with ``append_many`` with no lock in the database, then with 50 active
   participant locks (the guard reads the locks once per batch and checks each entry in memory).

Run: .venv/bin/python bench/bench_audit_export.py [--entries 100000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc


def _timed(run):
    started = time.perf_counter()
    result = run()
    return result, time.perf_counter() - started


def _measure(run):
    """Time of a plain run, then peak traced memory (MiB) of a second run (tracing slows it down)."""
    result, seconds = _timed(run)
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    entries = parser.parse_args().entries
    os.environ.setdefault("TRIALDESK_DATA_DIR", tempfile.mkdtemp(prefix="bench-audit-"))
    from trialdesk.web.bootstrap import setup

    setup(migrate=True)
    import io

    import pandas as pd
    from django.db import transaction

    from trialdesk.apps.datamanagement.audit import AuditFilter, csv_lines, entries_for
    from trialdesk.apps.datamanagement.models import Lock
    from trialdesk.apps.ledger.models import LedgerEntry
    from trialdesk.apps.ledger.services import Change, Context, append_many

    ctx = Context(actor="bench", channel="command")

    def changes(n: int, offset: int = 0):
        return [
            Change(
                action="update",
                entity="assessment",
                entity_id=f"BAL-{i % 500:04d}/m9/panss",
                field=f"item P{i % 7 + 1}",
                old=i % 7 + 1,
                new=(i + 1) % 7 + 1,
                reason="bench correction",
                site="BAL",
                participant=f"BAL-{i % 500:04d}",
            )
            for i in range(offset, offset + n)
        ]

    for start in range(0, entries, 10_000):
        with transaction.atomic():
            append_many(ctx, changes(min(10_000, entries - start), start))
    print(f"ledger entries: {LedgerEntry.objects.count():,}")

    def streamed() -> int:
        size = 0
        for line in csv_lines(entries_for(None, AuditFilter())):
            size += len(line)
        return size

    def naive() -> int:
        frame = pd.DataFrame(list(LedgerEntry.objects.order_by("seq").values()))
        out = io.StringIO()
        frame.to_csv(out, index=False)
        return len(out.getvalue())

    size, t_stream, m_stream = _measure(streamed)
    naive_size, t_naive, m_naive = _measure(naive)
    print(f"streamed CSV: {t_stream:.2f} s, peak {m_stream:.1f} MiB, {size / 2**20:.1f} MiB written")
    print(
        f"naive ORM -> pandas -> CSV: {t_naive:.2f} s, peak {m_naive:.1f} MiB, {naive_size / 2**20:.1f} MiB"
    )
    print(f"ratio streamed/naive: time {t_stream / t_naive:.2f}, peak memory {m_stream / m_naive:.3f}")

    def batch() -> None:
        with transaction.atomic():
            append_many(ctx, changes(10_000, 10**7))

    _, t_free = _timed(batch)
    Lock.objects.bulk_create(
        Lock(
            scope="participant",
            key=f"participant:FRB-{i:04d}",
            reason="bench",
            locked_by="bench",
            locked_at=LedgerEntry.objects.first().at,
        )
        for i in range(50)
    )
    _, t_locked = _timed(batch)
    print(
        f"append_many 10,000 entries: {t_free:.3f} s with no lock, {t_locked:.3f} s with 50 active locks "
        f"(ratio {t_locked / t_free:.2f})"
    )


if __name__ == "__main__":
    main()
