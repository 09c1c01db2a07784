"""`trialdesk demo --participants 198` on SQLite: wall and CPU time per stage, database queries per stage,
and the ratio of the whole run to the pure generator (`simulate_trial`) timed in the same process.

    .venv/bin/python bench/bench_demo.py [--participants 198] [--seed 2011] [--pdf]

Runs in a fresh temporary data directory (its own SQLite database); the target is under 60 s in all.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=198)
    parser.add_argument("--seed", type=int, default=2011)
    parser.add_argument("--pdf", action="store_true", help="also render the PDF report")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    os.environ["TRIALDESK_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)

    from trialdesk.web.bootstrap import setup

    setup(migrate=True)
    from django.conf import settings
    from django.db import connection

    from trialdesk.apps.trial.demo import ensure_demo_key
    from trialdesk.demo import driver
    from trialdesk.protocol import load_protocol
    from trialdesk.simulation import simulate_trial

    ensure_demo_key(settings.DATA_DIR)
    protocol = load_protocol()

    started = time.perf_counter()
    simulate_trial(protocol, n_participants=args.participants, seed=args.seed)
    generator = time.perf_counter() - started

    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    rows: list[tuple[str, float, float, int]] = []
    plain = driver.Run.stage

    @contextmanager
    def measured(self, name, **options):
        q0, cpu0, wall0 = queries[0], time.process_time(), time.perf_counter()
        with plain(self, name, **options):
            yield
        rows.append((name, time.perf_counter() - wall0, time.process_time() - cpu0, queries[0] - q0))

    driver.Run.stage = measured
    cpu0 = time.process_time()
    with connection.execute_wrapper(count):
        result = driver.run_demo(protocol, n=args.participants, seed=args.seed, out=data_dir / "report",
                                 pdf=args.pdf)  # fmt: skip
    cpu = time.process_time() - cpu0
    total = result.timings["total"]
    print(f"trialdesk demo --participants {args.participants} --seed {args.seed} (SQLite, {data_dir})")
    print(f"{'stage':<11} {'wall s':>8} {'cpu s':>8} {'queries':>9}")
    for name, wall, stage_cpu, n in rows:
        print(f"{name:<11} {wall:8.2f} {stage_cpu:8.2f} {n:9d}")
    print(f"{'total':<11} {total:8.2f} {cpu:8.2f} {queries[0]:9d}  (generator steps inside: "
          f"{result.generator_seconds:.2f} s)")
    print(f"pure generator (simulate_trial, same process): {generator:.2f} s")
    print(f"ratio demo / generator: {total / generator:.1f}x; target total < 60 s: "
          f"{'met' if total < 60 else 'NOT met'}")


if __name__ == "__main__":
    main()
