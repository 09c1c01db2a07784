"""The load test: seed a database, serve it on 127.0.0.1, load it with locust, check the allocations.

    .venv/bin/python bench/load/run.py [--database sqlite|postgresql|both] [--duration 60]
        [--ready 4000] [--followup 300] [--threads 4] [--workers 3] [--reuse-seed] [--profile]

For each database: seeds it through the services (``seed.py``; with ``--reuse-seed`` a seeded copy is
kept and reused: a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL), starts
``trialdesk serve`` on a free local port, runs 50 assessors and 16 randomisation clients
(``locustfile.py``) headless for ``--duration`` seconds (and at most ``--max-requests`` requests), stops
the server, then checks the allocations and the ledger (``check.py``) and runs ``trialdesk audit verify``.
Prints and stores (``<workdir>/<database>/results.json``) errors, p50/p95 latency per request type,
randomisations per second, the CPU used by server and clients and the machine's load, against the
targets of issue 10: no errors, p95 of a form submission under 150 ms, at least 200 randomisations per
second on PostgreSQL, no duplicate allocation. ``--profile`` samples the server with py-spy meanwhile.

PostgreSQL: ``--pg`` names the server (default postgres://postgres@127.0.0.1:5432); the run uses its own
databases ``trialdesk_load`` and ``trialdesk_load_seed``, dropped and re-created.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BIN = Path(sys.executable).parent
TARGET_P95_MS = 150.0
TARGET_RATE_PG = 200.0
FORM_POST = "assessment form POST"
RANDOMISE = "randomise POST"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fernet_key(path: Path) -> str:
    if not path.exists():
        from cryptography.fernet import Fernet

        path.write_text(Fernet.generate_key().decode())
    return path.read_text().strip()


def seed_params(args) -> dict:
    return {"ready": args.ready, "followup": args.followup, "version": 1}


def prepare_sqlite(args, work: Path, env: dict) -> None:
    db = work / "trialdesk.sqlite3"
    cache, cached_manifest = work / "seed.sqlite3", work / "seed-manifest.json"
    for path in work.glob("trialdesk.sqlite3*"):
        path.unlink()
    fresh = not (args.reuse_seed and cache.exists() and _params_match(work, args))
    if fresh:
        seed(args, work, env)
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(db, cache)
        shutil.copyfile(work / "manifest.json", cached_manifest)
        (work / "seed-params.json").write_text(json.dumps(seed_params(args)))
    else:
        shutil.copyfile(cache, db)
        shutil.copyfile(cached_manifest, work / "manifest.json")


def _params_match(work: Path, args) -> bool:
    path = work / "seed-params.json"
    return path.exists() and json.loads(path.read_text()) == seed_params(args)


def prepare_postgresql(args, work: Path, env: dict) -> None:
    import psycopg

    run_db, seed_db = f"{args.db_name}", f"{args.db_name}_seed"
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [seed_db]).fetchone()
        admin.execute(f'DROP DATABASE IF EXISTS "{run_db}" WITH (FORCE)')
        fresh = not (args.reuse_seed and exists and _params_match(work, args)
                     and (work / "seed-manifest.json").exists())  # fmt: skip
        if fresh:
            admin.execute(f'CREATE DATABASE "{run_db}"')
        else:
            admin.execute(f'CREATE DATABASE "{run_db}" TEMPLATE "{seed_db}"')
            shutil.copyfile(work / "seed-manifest.json", work / "manifest.json")
            return
    seed(args, work, env)
    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{seed_db}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{seed_db}" TEMPLATE "{run_db}"')
    shutil.copyfile(work / "manifest.json", work / "seed-manifest.json")
    (work / "seed-params.json").write_text(json.dumps(seed_params(args)))


def seed(args, work: Path, env: dict) -> None:
    started = time.perf_counter()
    command = [sys.executable, str(HERE / "seed.py"), "--manifest", str(work / "manifest.json"),
               "--ready", str(args.ready), "--followup", str(args.followup)]  # fmt: skip
    with (work / "seed.log").open("w") as log:
        subprocess.run(command, env=env, check=True, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)


def start_server(args, work: Path, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (work / "server.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "trialdesk"), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--threads", str(args.threads), "--workers", str(args.workers), "--no-task-worker"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped at start-up; see {work / 'server.log'}")
        try:
            with urllib.request.urlopen(f"{url}/health/", timeout=2) as answer:  # noqa: S310 - local
                if answer.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.2)  # polling a readiness endpoint, bounded by the deadline
    server.kill()
    raise SystemExit("the server did not answer /health/ within 120 s")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_locust(args, work: Path, env: dict, url: str) -> tuple[dict, float]:
    users = args.assessors + args.randomisers
    command = [
        str(BIN / "locust"), "-f", str(HERE / "locustfile.py"), "--headless",
        "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{args.duration}s", "--host", url,
        "--reset-stats", "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10",
        "--exit-code-on-error", "0",
    ]  # fmt: skip
    env = {**env, "LOAD_MANIFEST": str(work / "manifest.json"), "LOAD_SUMMARY": str(work / "locust.json"),
           "LOAD_MAX_REQUESTS": str(args.max_requests), "LOAD_THINK": str(args.think),
           "LOAD_ASSESSORS": str(args.assessors), "LOAD_RANDOMISERS": str(args.randomisers),
           "LOAD_CHANNEL": args.channel}  # fmt: skip
    with (work / "locust.log").open("w") as log:
        client = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(client.pid, 0)
        client.returncode = os.waitstatus_to_exitcode(status)
    if client.returncode != 0:
        raise SystemExit(f"locust failed ({client.returncode}); see {work / 'locust.log'}")
    return json.loads((work / "locust.json").read_text()), usage.ru_utime + usage.ru_stime


def profile(server: subprocess.Popen, work: Path, seconds: int) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "py-spy"), "record", "--pid", str(server.pid), "--duration", str(seconds), "--rate", "50",
         "--format", "raw", "--output", str(work / "profile.txt"), "--nonblocking", "--subprocesses"],
        stdout=subprocess.DEVNULL, stderr=(work / "py-spy.log").open("w"),
    )  # fmt: skip


def server_cpu(process: psutil.Process) -> float:
    """User + system CPU seconds of the server and its worker processes (``--workers``)."""
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            total += sum(each.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
    return total


def profile_summary(path: Path, top: int = 25) -> list[tuple[str, float]]:
    """Inclusive share of samples per function (collapsed stacks), busiest first.

    py-spy leaves idle threads (waiting for a request, a lock or the database) out unless told otherwise.
    """
    totals: dict[str, int] = {}
    busy = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        samples = int(count)
        busy += samples
        for frame in set(frames):
            totals[frame] = totals.get(frame, 0) + samples
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return [(frame, round(100 * n / busy, 1)) for frame, n in ranked[:top]] if busy else []


def run_one(database: str, args) -> dict:
    work = args.workdir / database
    work.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "TRIALDESK_DATA_DIR": str(work),
        "TRIALDESK_PERSONAL_DATA_KEY": fernet_key(work / "personal-data.key"),
        "TRIALDESK_REQUIRE_2FA": "0",  # the clients start signed in: no second factor to give
        "TRIALDESK_LOG_LEVEL": "ERROR",
    }
    env.pop("DATABASE_URL", None)
    print(f"{database}: seeding {args.ready} participants to randomise, {args.followup} with visits due",
          flush=True)  # fmt: skip
    if database == "postgresql":
        env["DATABASE_URL"] = f"{args.pg}/{args.db_name}"
        prepare_postgresql(args, work, env)
    else:
        prepare_sqlite(args, work, env)
    if args.channel == "api":
        subprocess.run([sys.executable, str(HERE / "seed.py"), "--manifest", str(work / "manifest.json"),
                        "--add-tokens"], env=env, check=True, cwd=ROOT)  # fmt: skip
    server, url = start_server(args, work, env)
    spy = None
    try:
        server_process = psutil.Process(server.pid)
        cpu_before = server_cpu(server_process)
        psutil.cpu_percent()
        load_before = os.getloadavg()
        print(f"  serving on {url}; {args.assessors} assessors and {args.randomisers} randomisation clients "
              f"for {args.duration} s", flush=True)  # fmt: skip
        if args.profile:
            spy = profile(server, work, args.duration)
        wall = time.perf_counter()
        summary, client_cpu = run_locust(args, work, env, url)
        wall = time.perf_counter() - wall
        machine_cpu = psutil.cpu_percent()
        cpu_after = server_cpu(server_process)
        load_after = os.getloadavg()
    finally:
        if spy is not None:
            spy.wait(timeout=args.duration + 60)
        stop(server)
    checked = json.loads(subprocess.run(
        [sys.executable, str(HERE / "check.py")], env=env, check=True, capture_output=True, text=True,
        cwd=ROOT,
    ).stdout)  # fmt: skip
    verify = subprocess.run([str(BIN / "trialdesk"), "audit", "verify", "--json"], env=env,
                            capture_output=True, text=True, cwd=ROOT, check=False)  # fmt: skip
    entries = summary["entries"]
    post = entries.get(FORM_POST, {})
    randomised = entries.get(RANDOMISE, {})
    result = {
        "database": database,
        "duration_s": args.duration,
        "wall_s": round(wall, 1),
        "channel": args.channel,
        "server_threads": args.threads,
        "server_workers": args.workers,
        "clients": {"assessors": args.assessors, "randomisers": args.randomisers, "think_s": args.think},
        "entries": entries,
        "errors": summary["errors"],
        "failures": sum(e["failures"] for e in entries.values()),
        "randomisations_per_s": round(randomised.get("per_second", 0.0), 1),
        "form_post_p95_ms": post.get("p95_ms"),
        "check": checked,
        "audit_verify": {"exit": verify.returncode, **json.loads(verify.stdout or "{}")},
        "server_cpu_s": round(cpu_after - cpu_before, 1),
        "clients_cpu_s": round(client_cpu, 1),
        "machine_cpu_percent": machine_cpu,
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }
    if args.profile and (work / "profile.txt").exists():
        result["profile_top"] = profile_summary(work / "profile.txt")
    result["targets"] = {
        "zero_errors": result["failures"] == 0,
        "form_post_p95_under_150ms": post.get("p95_ms") is not None and post["p95_ms"] < TARGET_P95_MS,
        "no_duplicate_allocation": checked["passed"],
        "audit_verify": verify.returncode == 0,
    }
    if database == "postgresql":
        rate = result["randomisations_per_s"]
        result["targets"]["randomisations_at_least_200_per_s"] = rate >= TARGET_RATE_PG
    (work / "results.json").write_text(json.dumps(result, indent=2))
    return result


def report(result: dict) -> str:
    lines = [f"### {result['database']}, {result['channel']}", "",
             "| request | count | errors | p50 ms | p95 ms | p99 ms | per s |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, e in sorted(result["entries"].items()):
        if name.startswith("setup:"):
            continue  # a client's one-off start-up request
        lines.append(f"| {name} | {e['requests']} | {e['failures']} | {e['p50_ms']:.0f} | {e['p95_ms']:.0f} "
                     f"| {e['p99_ms']:.0f} | {e['per_second']:.1f} |")  # fmt: skip
    c = result["check"]
    lines += [
        "",
        f"randomisations per second: {result['randomisations_per_s']}; allocations {c['allocations']}, "
        f"duplicate slots {c['duplicate_slots']}, out-of-order strata {len(c['out_of_order_strata'])}, "
        f"ledger entries {c['ledger_randomise']}, audit verify exit {result['audit_verify']['exit']} "
        f"({result['audit_verify'].get('checked')} entries)",
        f"CPU: server {result['server_cpu_s']} s, clients {result['clients_cpu_s']} s "
        f"in {result['wall_s']} s; "
        f"machine {result['machine_cpu_percent']} % of {result['cores']} cores; load average "
        f"{result['load_average_before'][0]} -> {result['load_average_after'][0]}",
        "targets: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in result["targets"].items()),
    ]
    for name, error in ((e["name"], e["error"]) for e in result["errors"][:10]):
        lines.append(f"error: {name}: {error}")
    if result.get("profile_top"):
        lines += ["", "server profile (inclusive share of busy samples):"]
        lines += [f"  {share:5.1f} %  {frame}" for frame, share in result["profile_top"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load per database (max 600)")
    parser.add_argument("--ready", type=int, default=4000, help="participants waiting to be randomised")
    parser.add_argument("--followup", type=int, default=300, help="participants with 9/21-month forms due")
    parser.add_argument("--threads", type=int, default=4, help="trialdesk serve --threads (per worker)")
    parser.add_argument("--workers", type=int, default=3, help="trialdesk serve --workers (processes)")
    parser.add_argument("--assessors", type=int, default=50, help="assessor clients")
    parser.add_argument("--randomisers", type=int, default=16, help="randomisation clients")
    parser.add_argument("--channel", choices=("web", "api"), default="web",
                        help="HTML forms with sessions, or the REST API with tokens")
    parser.add_argument("--think", type=float, default=1.0, help="assessors' mean pause (s)")
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default="trialdesk_load")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "load-test")
    parser.add_argument("--reuse-seed", action="store_true", help="reuse the seeded copy of an earlier run")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy")
    args = parser.parse_args()
    if not 1 <= args.duration <= 600:
        parser.error("--duration is 1 to 600 seconds")
    if args.db_name in ("test", "postgres"):
        parser.error("--db-name must be a database of the load test's own")
    databases = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    results = [run_one(database, args) for database in databases]
    print()
    for result in results:
        print(report(result))
        print()


if __name__ == "__main__":
    main()
