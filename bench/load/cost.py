"""What one request costs through the real server, one at a time: CPU of the server's processes, of the
database server and of the client, per request type; and the rate two cores could serve at that cost.

    .venv/bin/python bench/load/cost.py [--database sqlite|postgresql] [--n 200] [--reuse-seed]
        [--workers 3] [--threads 4]

It seeds (or reuses) the load test's database (``run.py``), starts ``trialdesk serve``, and sends ``--n``
requests of each kind in turn from one client through the API: a randomisation, an assessment form read
(GET) and its completion (PUT). With no concurrency nothing waits on a lock or for a core, so the CPU
seconds per request are the work itself, and ``cores / CPU per request`` bounds the rate any number of
clients could get from this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as load  # the load test's seeding and serving, shared


def _cpu(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            total += sum(process.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
    return total


def _database_processes(database: str) -> list[psutil.Process]:
    if database != "postgresql":
        return []  # SQLite runs inside the server's processes
    return [p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres")]


def _call(url: str, method: str, headers: dict[str, str], body: bytes | None, expected: int) -> None:
    request = urllib.request.Request(url, method=method, data=body, headers=headers)  # noqa: S310 - local
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - local http only
        answer.read()
        if answer.status != expected:
            raise SystemExit(f"{method} {url} answered {answer.status}")


def measure(calls, server: list[psutil.Process], database: list[psutil.Process]) -> dict[str, float]:
    calls = list(calls)
    for call in calls[:10]:  # warm each server process's caches and prepared statements
        call()
    s0, d0, c0, w0 = _cpu(server), _cpu(database), time.process_time(), time.perf_counter()
    for call in calls[10:]:
        call()
    n = len(calls) - 10
    cost = {
        "server_ms": (_cpu(server) - s0) / n * 1000,
        "database_ms": (_cpu(database) - d0) / n * 1000,
        "client_ms": (time.process_time() - c0) / n * 1000,
        "wall_ms": (time.perf_counter() - w0) / n * 1000,
    }
    cost["total_cpu_ms"] = cost["server_ms"] + cost["database_ms"] + cost["client_ms"]
    cost["two_core_ceiling_per_s"] = 2 * 1000 / cost["total_cpu_ms"]
    return cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--n", type=int, default=200, help="requests of each kind (after 10 to warm up)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--reuse-seed", action="store_true")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="trialdesk_load")
    parser.add_argument("--workdir", type=Path, default=load.ROOT / "var" / "load-test")
    args = parser.parse_args()
    args.ready, args.followup = 4000, 300  # the load test's seed, so --reuse-seed shares it
    work = args.workdir / args.database
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TRIALDESK_DATA_DIR": str(work), "TRIALDESK_REQUIRE_2FA": "0",
           "TRIALDESK_PERSONAL_DATA_KEY": load.fernet_key(work / "personal-data.key"),
           "TRIALDESK_LOG_LEVEL": "ERROR"}  # fmt: skip
    env.pop("DATABASE_URL", None)
    if args.database == "postgresql":
        env["DATABASE_URL"] = f"{args.pg}/{args.db_name}"
        load.prepare_postgresql(args, work, env)
    else:
        load.prepare_sqlite(args, work, env)
    tokens = [sys.executable, str(load.HERE / "seed.py"), "--manifest", str(work / "manifest.json"),
              "--add-tokens"]  # fmt: skip
    load.subprocess.run(tokens, env=env, check=True, cwd=load.ROOT)
    manifest = json.loads((work / "manifest.json").read_text())
    site = next(iter(manifest["ready"]))
    coordinator = {"Authorization": f"Bearer {manifest['tokens'][manifest['coordinators'][site][0]]}"}
    assessor = {"Authorization": f"Bearer {manifest['tokens'][manifest['assessors'][site][0]]}"}
    n = args.n + 10
    ready, due = manifest["ready"][site][:n], manifest["tasks"][site][:n]
    if len(ready) < n or len(due) < n:
        raise SystemExit(f"the seed has {len(ready)} participants and {len(due)} forms at {site}; lower --n")
    server, url = load.start_server(args, work, env)
    try:
        processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
        database = _database_processes(args.database)

        def randomise(trial_id: str):
            return lambda: _call(f"{url}/api/participants/{trial_id}/randomisation", "POST",
                                 {**coordinator, "Idempotency-Key": uuid.uuid4().hex}, b"", 201)  # fmt: skip

        def form(task: list[str], write: bool):
            trial_id, visit, instrument, assessed_on = task
            path = f"{url}/api/participants/{trial_id}/visits/{visit}/assessments/{instrument}"
            if not write:
                return lambda: _call(path, "GET", assessor, None, 200)
            answers = manifest["payloads"][instrument][0]
            body = json.dumps({"assessed_on": assessed_on, "complete": True,
                               "values": {k.removeprefix("item_"): v for k, v in answers.items()}}).encode()
            headers = {**assessor, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
            return lambda: _call(path, "PUT", headers, body, 200)

        costs = {
            "randomise POST": measure(map(randomise, ready), processes, database),
            "assessment form GET": measure((form(t, False) for t in due), processes, database),
            "assessment form PUT": measure((form(t, True) for t in due), processes, database),
        }
    finally:
        load.stop(server)
    print(f"{args.database}, {args.workers} workers x {args.threads} threads, {args.n} requests each, "
          "one at a time (CPU ms per request)")  # fmt: skip
    print("| request | server | database | client | total CPU | wall | 2-core ceiling /s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, c in costs.items():
        print(f"| {name} | {c['server_ms']:.1f} | {c['database_ms']:.1f} | {c['client_ms']:.1f} | "
              f"{c['total_cpu_ms']:.1f} | {c['wall_ms']:.1f} | {c['two_core_ceiling_per_s']:.0f} |")
    (work / "cost.json").write_text(json.dumps(costs, indent=2))


if __name__ == "__main__":
    main()
