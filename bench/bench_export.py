"""Benchmark: export 1,000,000 item responses to CSV and to Parquet, streaming vs a naive export.

Targets (issue 6): each streaming export takes at most 20 s with peak memory under 500 MB. The naive
baseline loads every row from the ORM into one pandas frame and writes it (``pd.DataFrame(list(qs.values(
...)))``), as a first attempt would; it runs on the same data in the same run, and the script prints the
ratios.

How: a temporary SQLite database is migrated and filled quickly (participants, visits and assessments
with ``bulk_create``; the item responses with raw ``executemany`` INSERTs, real item codes of the IMR
instruments). Each method then runs in its own subprocess, which reports wall time and its peak
resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which includes Python, Django, pandas and
pyarrow themselves, so the figures are conservative).

    .venv/bin/python bench/bench_export.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METHODS = ("stream-csv", "stream-parquet", "naive-csv", "naive-parquet")
TARGET_SECONDS, TARGET_MB = 20.0, 500.0


def _django(data_dir: Path) -> None:
    os.environ["TRIALDESK_DATA_DIR"] = str(data_dir)
    os.environ["DATABASE_URL"] = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "trialdesk.web.settings"
    from trialdesk.web.bootstrap import setup

    setup()


def populate(data_dir: Path, rows: int) -> int:
    import datetime as dt

    from django.core.management import call_command
    from django.db import connection, transaction

    _django(data_dir)
    call_command("migrate", verbosity=0)
    from trialdesk.apps.assessments.models import Assessment, ItemResponse, Visit
    from trialdesk.apps.ledger.services import Context
    from trialdesk.apps.participants.models import Participant
    from trialdesk.apps.trial.models import Site
    from trialdesk.apps.trial.services import install_protocol
    from trialdesk.instruments import get_library
    from trialdesk.protocol import load_protocol

    protocol = load_protocol()
    install_protocol(protocol, Context(actor="bench", channel="command", protocol_hash=protocol.content_hash))
    library = get_library()
    site = Site.objects.order_by("code").first()
    now = dt.datetime(2012, 1, 1, tzinfo=dt.UTC)
    plan = [(v, [c for c in v.instruments if library.get(c).score_names]) for v in protocol.visits]
    per_participant = sum(len(library.get(c).scored_items) for _, codes in plan for c in codes)
    people = -(-rows // per_participant)
    with transaction.atomic():
        made = Participant.objects.bulk_create(
            Participant(
                trial_id=f"{site.prefix}-{n:05d}",
                site=site,
                number=n,
                status="in_follow_up",
                created_at=now,
                protocol_hash=protocol.content_hash,
            )
            for n in range(1, people + 1)
        )
        visits = Visit.objects.bulk_create(
            Visit(
                participant=p,
                code=v.code,
                label=v.label,
                sequence=i,
                month=v.month,
                instruments=codes,
                target=dt.date(2011, 3, 1),
                protocol_hash=protocol.content_hash,
                created_at=now,
            )
            for p in made
            for i, (v, codes) in enumerate(plan)
        )
        assessments = Assessment.objects.bulk_create(
            Assessment(
                participant_id=v.participant_id,
                visit=v,
                instrument=code,
                status="complete",
                assessed_on=dt.date(2011, 12, 1),
                entered_by="bench",
                protocol_hash=protocol.content_hash,
                created_at=now,
                updated_at=now,
            )
            for v in visits
            for code in v.instruments
        )
    table = ItemResponse._meta.db_table
    written = 0
    with connection.cursor() as cursor, transaction.atomic():
        batch = []
        for assessment in assessments:
            instrument = library.get(assessment.instrument)
            for item in instrument.scored_items:
                if written + len(batch) >= rows:
                    break
                low = instrument.item_map[item].minimum or 0
                batch.append((assessment.pk, item, float(low + (assessment.pk + len(batch)) % 3), ""))
            if len(batch) >= 50_000 or written + len(batch) >= rows:
                cursor.executemany(
                    f"INSERT INTO {table} (assessment_id, item, number, text) VALUES (%s, %s, %s, %s)",  # noqa: S608 - model's table name
                    batch,
                )
                written += len(batch)
                batch = []
            if written >= rows:
                break
    return written


def run(method: str, data_dir: Path) -> dict:
    _django(data_dir)
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from trialdesk.apps.snapshots.export import write_csv, write_parquet
    from trialdesk.apps.snapshots.extract import Extraction

    out = data_dir / f"out-{method}"
    start = time.perf_counter()
    if method.startswith("stream"):
        extraction = Extraction(blinded=False)
        writer = write_csv if method == "stream-csv" else write_parquet
        rows = writer(extraction, "items", out)
    else:
        import pandas as pd

        from trialdesk.apps.assessments.models import ItemResponse

        query = ItemResponse.objects.filter(assessment__status="complete", number__isnull=False).values(
            "assessment__participant__trial_id",
            "assessment__visit__code",
            "assessment__instrument",
            "item",
            "number",
        )
        frame = pd.DataFrame(list(query.order_by("assessment_id", "id")))
        frame.columns = ["trial_id", "visit", "instrument", "item", "value"]
        if method == "naive-csv":
            frame.to_csv(out, index=False)
        else:
            frame.to_parquet(out, index=False)
        rows = len(frame)
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "method": method,
        "rows": rows,
        "seconds": seconds,
        "peak_mb": peak_kb / 1024,
        "startup_mb": baseline_kb / 1024,
        "bytes": out.stat().st_size,
    }


def _child(method: str, data_dir: Path) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", method, "--dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{method} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", choices=METHODS)
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(args.child, args.dir)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        data_dir = Path(tmp)
        start = time.perf_counter()
        code = (
            f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_export as b; "
            f"from pathlib import Path; print(b.populate(Path({tmp!r}), {args.rows}))"
        )
        done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        written = int(done.stdout.strip().splitlines()[-1])
        print(f"populated {written:,} item responses in {time.perf_counter() - start:.1f} s (SQLite, {tmp})")
        results = {method: _child(method, data_dir) for method in METHODS}
    print(f"{'method':<16}{'rows':>10}{'seconds':>10}{'peak MB':>10}{'startup MB':>12}{'file MB':>10}")
    for r in results.values():
        print(
            f"{r['method']:<16}{r['rows']:>10,}{r['seconds']:>10.2f}{r['peak_mb']:>10.0f}"
            f"{r['startup_mb']:>12.0f}{r['bytes'] / 1e6:>10.2f}"
        )
    ok = True
    for fmt in ("csv", "parquet"):
        stream, naive = results[f"stream-{fmt}"], results[f"naive-{fmt}"]
        meets = stream["seconds"] <= TARGET_SECONDS and stream["peak_mb"] < TARGET_MB
        ok &= meets
        print(
            f"{fmt}: streaming {stream['seconds']:.2f} s / {stream['peak_mb']:.0f} MB; naive "
            f"{naive['seconds']:.2f} s / {naive['peak_mb']:.0f} MB; time ratio naive/streaming "
            f"{naive['seconds'] / stream['seconds']:.2f}, memory ratio "
            f"{naive['peak_mb'] / stream['peak_mb']:.2f}"
            f" -> target (<= {TARGET_SECONDS:.0f} s, < {TARGET_MB:.0f} MB) {'met' if meets else 'MISSED'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
