"""Worker processes for the crash tests (imported by tests/integration/test_crash_*.py; not a test file).

Run as a script in a subprocess with TRIALDESK_DATA_DIR, DATABASE_URL and the personal-data key set:

  seed --participants N [--extract PATH --rows R]
      migrate; install the IMR protocol and an allocation list; enrol N participants (screened, consented,
      baseline complete) through the services; make a personal-data key holder; optionally write a register
      extract of R distinct events of theirs, all dated inside their follow-up.
  import --extract PATH --fd FD [--hook]
      import the extract as the key holder. With --hook the import stops inside its transaction, after
      every event and its ledger entry is written: it writes ``ready <events visible>`` to FD and waits
      there for the SIGKILL the test sends.
  serve --fd FD --port P --hook-at K
      ``trialdesk serve`` on 127.0.0.1:P with the randomisation hook below; first makes a coordinator with an
      API token per site and writes ``tokens BAL=<token> FRB=<token>`` to FD.
  randomise --fd FD --threads T [--hook-at K]
      randomise every participant not yet randomised, from T threads at once. After each commit it writes
      ``done <trial id>``. With --hook-at K the K-th randomisation stops inside its transaction once the
      slot, the allocation and the status are written but not its ledger entry: ``ready <trial id>``.

The hooks wrap the ledger's ``append_many`` as the import or the randomisation service calls it inside its
transaction, so the kill lands at a known point, signalled through a pipe: no sleep
guessed at.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import csv
import datetime as dt
import io
import json
import os
import random
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

SITES = ("BAL", "FRB")
DIAGNOSES = ("F20.0", "F31.3")
SCREENED_ON = dt.date(2011, 3, 1)
BASELINE_ON = dt.date(2011, 3, 10)
ANSWERS = {"I2": True, "I4": True, "I5": True, "E1": False, "E2": "", "E3": False, "E4": False,
           "E5": False, "E6": False}  # fmt: skip
KEEPER = "crash-keeper"


def cpr_number(k: int) -> str:
    born = dt.date(1960, 1, 1) + dt.timedelta(days=k)
    return f"{born:%d%m%y}-{1000 + k:04d}"


def _setup(*, migrate: bool = False) -> None:
    from trialdesk.web.bootstrap import setup

    setup(migrate=migrate)


def _context(actor: str, channel: str = "command"):
    from trialdesk.apps.ledger.services import Context
    from trialdesk.apps.trial.services import active_protocol

    return Context(actor=actor, channel=channel, protocol_hash=active_protocol().content_hash)


def seed(participants: int, extract: Path | None, rows: int) -> None:
    _setup(migrate=True)
    from trialdesk.apps.accounts.services import create_user, grant_role
    from trialdesk.apps.consent.services import record_consent
    from trialdesk.apps.ledger.services import Context
    from trialdesk.apps.participants.services import PersonalDetails, transition
    from trialdesk.apps.participants.status import State
    from trialdesk.apps.randomisation import lists
    from trialdesk.apps.screening.services import screen
    from trialdesk.apps.trial.models import Site
    from trialdesk.apps.trial.services import install_protocol
    from trialdesk.protocol import load_protocol

    protocol = load_protocol()
    install_protocol(protocol, Context(actor="setup", channel="command", protocol_hash=protocol.content_hash))
    ctx = _context("crash-coordinator")
    lists.generate(seed=7, per_stratum=participants, context=_context("crash-statistician"), label="crash")
    keeper = create_user(KEEPER, None, ctx, check_password=False)
    grant_role(keeper, "data_manager", ctx, personal_data=True)
    sites = {code: Site.objects.get(code=code) for code in SITES}
    numbers = []
    for k in range(participants):
        made = screen(
            sites[SITES[k % 2]], screened_on=SCREENED_ON, referral_source="clinician",
            answers={**ANSWERS, "I3": DIAGNOSES[(k // 2) % 2]},
            person=PersonalDetails(cpr=cpr_number(k), name="Crash Person"), context=ctx,
        ).participant  # fmt: skip
        record_consent(made, version="1.0", oral_on=SCREENED_ON, written_on=SCREENED_ON, taken_by=ctx.actor,
                       context=ctx)  # fmt: skip
        made.refresh_from_db()
        transition(made, State.BASELINE_COMPLETE, ctx)
        numbers.append(cpr_number(k))
    if extract is not None:
        extract.write_bytes(extract_csv(numbers, rows))


def extract_csv(numbers: list[str], rows: int) -> bytes:
    """``rows`` distinct events of these people, dated after their consent."""
    rng = random.Random(2011)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["cpr", "event", "start_date", "end_date"])
    seen: set[tuple] = set()
    while len(seen) < rows:
        number = rng.choice(numbers)
        event = rng.choice(["admission", "er_visit", "outpatient_contact"])
        start = BASELINE_ON + dt.timedelta(days=rng.randrange(600))
        end = start + dt.timedelta(days=rng.randrange(1, 30)) if event == "admission" else start
        if (number, event, start, end) not in seen:
            seen.add((number, event, start, end))
            writer.writerow([number, event, start.isoformat(), end.isoformat()])
    return buffer.getvalue().encode()


def _signal(fd: int, line: str) -> None:
    os.write(fd, f"{line}\n".encode())


def _wait_for_the_kill() -> None:
    threading.Event().wait()  # never set: the test kills this process here


def stop_imports_inside_their_transaction(fd: int) -> None:
    """An import stops once every event and its ledger entry are written: ``ready <events visible>``."""
    from trialdesk.apps.registers import services
    from trialdesk.apps.registers.models import RegisterEvent

    original = services.append_many

    def append_then_stop(context, changes):
        written = original(context, changes)
        _signal(fd, f"ready {RegisterEvent.objects.count()}")
        _wait_for_the_kill()
        return written

    services.append_many = append_then_stop


def import_extract(extract: Path, fd: int, hook: bool) -> None:
    _setup()
    from django.contrib.auth import get_user_model

    from trialdesk.apps.registers import services

    if hook:
        stop_imports_inside_their_transaction(fd)
    keeper = get_user_model().objects.get(username=KEEPER)
    context = _context(KEEPER, "import")
    result = services.import_register(extract.read_bytes(), extract.name, context, user=keeper)
    _signal(fd, f"imported {result.report['events_created']}")


def _stop_randomisation_at(hook_at: int, fd: int) -> None:
    """The ``hook_at``-th randomisation stops after its status, slot and allocation, before its ledger."""
    from trialdesk.apps.randomisation import services

    original = services.append_many
    calls = Counter()
    lock = threading.Lock()

    def ledger_then_stop(context, changes, *args, **kwargs):
        changes = list(changes)
        with lock:
            calls["n"] += 1
            stop_here = calls["n"] == hook_at
        if stop_here:
            _signal(fd, f"ready {changes[-1].participant}")
            _wait_for_the_kill()
        return original(context, changes, *args, **kwargs)

    services.append_many = ledger_then_stop


def serve(fd: int, port: int, hook_at: int) -> None:
    """``trialdesk serve`` itself, with the randomisation hook, and an API token per site's coordinator."""
    _setup()
    from trialdesk.api.tokens import create_token
    from trialdesk.apps.accounts.services import create_user, grant_role
    from trialdesk.apps.trial.models import Site
    from trialdesk.cli import main as trialdesk

    ctx = _context("crash-setup")
    tokens = []
    for code in SITES:
        user = create_user(f"crash-coordinator-{code}", None, ctx, check_password=False)
        grant_role(user, "coordinator", ctx, site=Site.objects.get(code=code))
        tokens.append(f"{code}={create_token(user, ctx, name='crash test', days=1)[0]}")
    _stop_randomisation_at(hook_at, fd)
    _signal(fd, "tokens " + " ".join(tokens))
    trialdesk(["serve", "--host", "127.0.0.1", "--port", str(port), "--threads", "8", "--no-task-worker"])


def randomise_all(fd: int, threads: int, hook_at: int | None) -> None:
    _setup()
    from django.db import connection

    from trialdesk.apps.participants.models import Participant
    from trialdesk.apps.randomisation import services

    if hook_at is not None:
        _stop_randomisation_at(hook_at, fd)
    waiting = list(Participant.objects.filter(status="baseline_complete").order_by("pk"))
    ctx = _context("crash-coordinator")
    failures: list[BaseException] = []

    def client(mine):
        try:
            for participant in mine:
                services.randomise(participant, ctx)
                _signal(fd, f"done {participant.trial_id}")
        except BaseException as problem:
            failures.append(problem)
        finally:
            connection.close()

    workers = [threading.Thread(target=client, args=(waiting[k::threads],)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    _signal(fd, "failed " + "; ".join(map(repr, failures)) if failures else "finished")


# --- the test side: a database of the test's own, the worker processes and the pipe they signal on ---

SCRIPT = Path(__file__).resolve()
TEST_KEY = "Yq1fU6ncRzjzD4tMOgOsQ5ms7XldTBFnTLwM4xUfC2s="  # a Fernet key for throw-away test data
DEADLINE_S = 45.0


PARTICIPANTS = 40  # every one baseline complete; the extract has events of all of them
EXTRACT_ROWS = 4000
_seeded: dict[str, object] = {}


def _server_url() -> str | None:
    """The suite's PostgreSQL server (no database name), or None when the suite runs on SQLite."""
    from django.conf import settings

    default = settings.DATABASES["default"]
    if default["ENGINE"] != "django.db.backends.postgresql":
        return None
    return (f"postgres://{quote(default['USER'] or '')}:{quote(default['PASSWORD'] or '')}"
            f"@{default['HOST'] or '127.0.0.1'}:{default['PORT'] or 5432}")  # fmt: skip


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{_server_url()}/postgres", autocommit=True) as admin:
        admin.execute(sql)


def _env(data_dir: Path, url: str) -> dict[str, str]:
    env = {**os.environ, "TRIALDESK_DATA_DIR": str(data_dir), "TRIALDESK_PERSONAL_DATA_KEY": TEST_KEY,
           "TRIALDESK_LOG_LEVEL": "CRITICAL", "DATABASE_URL": url}  # fmt: skip
    env.pop("TRIALDESK_PERSONAL_DATA_KEY_FILE", None)
    return env


def _seed_once(base: Path) -> None:
    """Migrate and seed one database per test session; each test then works on a copy of it."""
    if _seeded:
        return
    server = _server_url()
    base.mkdir(parents=True, exist_ok=True)
    if server is None:
        url = f"sqlite:///{base / 'seed.sqlite3'}"
    else:
        name = f"trialdesk_crash_seed_{os.getpid()}"
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin(f'CREATE DATABASE "{name}"')
        atexit.register(_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        url, _seeded["template"] = f"{server}/{name}", name
    run(_env(base, url), "seed", "--participants", str(PARTICIPANTS), "--extract", str(base / "extract.csv"),
        "--rows", str(EXTRACT_ROWS))  # fmt: skip
    _seeded["base"] = base


@contextlib.contextmanager
def seeded_database(base: Path, tmp_path: Path, label: str) -> Iterator[dict[str, str]]:
    """A worker environment on a fresh copy of the seeded database, of the suite's kind.

    The suite runs on SQLite or on PostgreSQL (DATABASE_URL; CI runs both): on SQLite a copy of the seeded
    file in ``tmp_path``; on PostgreSQL a database of the test's own made from the seeded one as template,
    dropped afterwards. ``base`` holds the seeded database (made on first use) and ``extract.csv``.
    """
    _seed_once(base)
    server = _server_url()
    if server is None:
        for suffix in ("", "-wal", "-shm"):
            if (source := base / f"seed.sqlite3{suffix}").exists():
                shutil.copyfile(source, tmp_path / f"crash.sqlite3{suffix}")
        yield _env(tmp_path, f"sqlite:///{tmp_path / 'crash.sqlite3'}")
        return
    name = f"trialdesk_crash_{label}_{os.getpid()}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{_seeded["template"]}"')
    try:
        yield _env(tmp_path, f"{server}/{name}")
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(env: dict[str, str], *args: str, script: Path = SCRIPT) -> str:
    """Run a worker command to the end; its standard output."""
    done = subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True,
                          timeout=DEADLINE_S, check=False)  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def _query(env: dict[str, str], sql: str) -> list[tuple]:
    url = env["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            return conn.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def stored(env: dict[str, str]) -> dict:
    """What the database holds, counted with plain SQL on the tables (not through the app's own code)."""

    def one(sql: str) -> int:
        return _query(env, sql)[0][0]

    allocations = _query(env, """
        SELECT p.trial_id, a.participant_id, a.stratum, a.arm, a.slot_id,
               s.participant_id, s.stratum, s.arm, s.sequence
        FROM randomisation_allocation a
        JOIN randomisation_allocationslot s ON s.id = a.slot_id
        JOIN participants_participant p ON p.id = a.participant_id
        ORDER BY a.id""")  # fmt: skip
    sequences: dict[str, list[int]] = defaultdict(list)
    for row in allocations:
        sequences[row[2]].append(row[8])
    ledger, slots, people = "ledger_ledgerentry", "randomisation_allocationslot", "participants_participant"
    return {
        "ledger_entries": one(f"SELECT count(*) FROM {ledger}"),
        "register_events": one("SELECT count(*) FROM registers_registerevent"),
        "register_imports": one("SELECT count(*) FROM registers_registerimport"),
        "ledger_register_events": one(f"SELECT count(*) FROM {ledger} WHERE entity = 'register-event'"),
        "ledger_register_imports": one(f"SELECT count(*) FROM {ledger} WHERE entity = 'register-import'"),
        "allocated": [row[0] for row in allocations],
        "slots_taken": one(f"SELECT count(*) FROM {slots} WHERE participant_id IS NOT NULL"),
        "distinct_slots": len({row[4] for row in allocations}),
        "slot_mismatches": [row[0] for row in allocations if tuple(row[1:4]) != tuple(row[5:8])],
        "sequences": dict(sorted(sequences.items())),
        "ledger_randomised": sorted(r[0] for r in _query(
            env, f"SELECT entity_id FROM {ledger} WHERE action = 'randomise' AND entity = 'participant'"
        )),
        "status_randomised": sorted(
            r[0] for r in _query(env, f"SELECT trial_id FROM {people} WHERE status = 'randomised'")
        ),
        "status_baseline_complete": one(f"SELECT count(*) FROM {people} WHERE status = 'baseline_complete'"),
    }  # fmt: skip


def waiting(env: dict[str, str]) -> list[tuple[str, str]]:
    """(trial id, site code) of everyone baseline complete, in the order they were enrolled."""
    return [tuple(row) for row in _query(env, """
        SELECT p.trial_id, s.code FROM participants_participant p JOIN trial_site s ON s.id = p.site_id
        WHERE p.status = 'baseline_complete' ORDER BY p.id""")]  # fmt: skip


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def audit_verify(env: dict[str, str]) -> dict:
    """``trialdesk audit verify --json`` on the worker's database: its verdict and exit status."""
    command = [str(Path(sys.executable).parent / "trialdesk"), "audit", "verify", "--json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=DEADLINE_S, check=False)
    return {"exit": done.returncode, **json.loads(done.stdout or "{}")}


def until_ended(state_of: Callable[[], dict]) -> dict:
    """Polls a job another process runs until it and its django-tasks row have both ended.

    django-tasks marks the task row finished only after the job's own transaction has committed, so the
    job's status alone can read "done" while the row still says RUNNING.
    """
    deadline = time.monotonic() + DEADLINE_S
    unfinished = {"READY", "RUNNING"}
    while (state := state_of())["status"] not in ("done", "failed") or unfinished & set(state["tasks"]):
        assert time.monotonic() < deadline, f"the job did not end: {state}"
        time.sleep(0.2)  # the other process's progress, polled within the deadline
    return state


_started: list[Worker] = []


def kill_leftovers() -> None:
    """Kill any worker a failed test left running (a test's fixture calls this when it ends)."""
    while _started:
        worker = _started.pop()
        if worker.process.poll() is None:
            worker.kill()
        worker.close()


class Worker:
    """A worker process signalling on a pipe: lines like ``ready ...``, ``done ...``, ``finished``."""

    def __init__(self, env: dict[str, str], *args: str, script: Path = SCRIPT) -> None:
        _started.append(self)
        self._read, write = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, str(script), args[0], "--fd", str(write), *args[1:]],
            env=env, pass_fds=(write,), stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        os.close(write)
        self.lines: list[str] = []
        self._buffer = b""

    def wait_for(self, *prefixes: str) -> str:
        """The first line starting with one of ``prefixes`` (every line is kept in ``lines``)."""
        deadline = time.monotonic() + DEADLINE_S
        while True:
            for line in self.lines:
                if line.startswith(prefixes):
                    return line
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._read], [], [], max(left, 0))
            if not ready:
                self.kill()
                raise AssertionError(f"no {prefixes} from the worker in {DEADLINE_S} s: {self.lines}")
            chunk = os.read(self._read, 65536)
            if not chunk:
                self.process.wait()
                raise AssertionError(f"the worker ended ({self.process.returncode}) before {prefixes}:\n"
                                     f"{self.process.stderr.read()[-3000:]}")  # fmt: skip
            self._buffer += chunk
            *complete, self._buffer = self._buffer.split(b"\n")
            self.lines.extend(line.decode() for line in complete)

    def kill(self) -> int:
        """SIGKILL: no handler, no clean-up, no rollback by the process itself."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=DEADLINE_S)
        self.close()
        return self.process.returncode

    def finish(self) -> int:
        self.process.wait(timeout=DEADLINE_S)
        self.close()
        return self.process.returncode

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._read)
        if self.process.stderr is not None:
            self.process.stderr.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("seed")
    p.add_argument("--participants", type=int, required=True)
    p.add_argument("--extract", type=Path)
    p.add_argument("--rows", type=int, default=0)
    p = commands.add_parser("import")
    p.add_argument("--extract", type=Path, required=True)
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--hook", action="store_true")
    p = commands.add_parser("serve")
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--hook-at", type=int, required=True)
    p = commands.add_parser("randomise")
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--hook-at", type=int)
    args = parser.parse_args()
    if args.command == "seed":
        seed(args.participants, args.extract, args.rows)
    elif args.command == "import":
        import_extract(args.extract, args.fd, args.hook)
    elif args.command == "serve":
        serve(args.fd, args.port, args.hook_at)
    else:
        randomise_all(args.fd, args.threads, args.hook_at)


if __name__ == "__main__":
    main()
