"""What one request costs, without concurrency: SQL statements and CPU per randomisation and form POST.

Runs in-process (Django's test client through the whole middleware stack, no HTTP server) on a database
left by ``run.py``, with its environment:

    TRIALDESK_DATA_DIR=<workdir>/<database> [DATABASE_URL=...] python bench/load/probe.py [--n 30]

It randomises ``--n`` participants still waiting and completes ``--n`` due forms, signed in as a load-test
coordinator and assessor, and prints the median CPU time, the median wall time and the SQL statements
per request, with the statements' share of the wall time, and the same for the service call alone
(``randomise``) beside its view: the part of the request the view, session and middleware add.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--n", type=int, default=30)
    args = parser.parse_args()
    manifest = json.loads(args.manifest.read_text())

    from trialdesk.web.bootstrap import setup

    setup(migrate=True)  # the code may have gained migrations since the database was seeded
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from trialdesk.apps.assessments.models import Assessment
    from trialdesk.apps.ledger.services import Context
    from trialdesk.apps.participants.models import Participant
    from trialdesk.apps.randomisation.services import randomise
    from trialdesk.apps.trial.services import active_protocol

    def client_for(username: str) -> Client:
        client = Client()
        client.cookies[manifest["session_cookie"]] = manifest["sessions"][username]
        return client

    def measure(label: str, calls) -> None:
        cpu, wall, queries, sql_ms = [], [], [], []
        for call in calls:
            with CaptureQueriesContext(connection) as captured:
                c0, w0 = time.process_time(), time.perf_counter()
                call()
                cpu.append((time.process_time() - c0) * 1000)
                wall.append((time.perf_counter() - w0) * 1000)
            queries.append(len(captured.captured_queries))
            sql_ms.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
        print(f"{label:34s} n={len(cpu):3d}  cpu {statistics.median(cpu):6.1f} ms  "
              f"wall {statistics.median(wall):6.1f} ms  SQL statements {statistics.median(queries):4.0f} "
              f"taking {statistics.median(sql_ms):6.1f} ms")  # fmt: skip

    site = "BAL"
    coordinator = client_for(manifest["coordinators"][site][0])
    waiting = Participant.objects.filter(status="baseline_complete", site__code=site)
    waiting = list(waiting.values_list("trial_id", flat=True)[: 2 * args.n])

    def post_randomise(trial_id: str):
        def call():
            answer = coordinator.post(f"/randomisation/{trial_id}/", {"confirm": "on"})
            assert answer.status_code == 302, answer.status_code

        return call

    measure("randomise POST (view + middleware)", [post_randomise(t) for t in waiting[: args.n]])
    ctx = Context(actor=manifest["coordinators"][site][0], channel="web",
                  protocol_hash=active_protocol().content_hash)  # fmt: skip
    measure("randomise() service alone", [
        (lambda p=p: randomise(p, ctx)) for p in Participant.objects.filter(trial_id__in=waiting[args.n :])
    ])  # fmt: skip

    assessor = client_for(manifest["assessors"][site][0])
    entered = set(Assessment.objects.filter(visit__code__in=("m9", "m21")).values_list(
        "participant__trial_id", "visit__code", "instrument"))  # fmt: skip
    due = [t for t in manifest["tasks"][site] if tuple(t[:3]) not in entered][: args.n]

    def post_form(task):
        trial_id, visit, instrument, assessed_on = task

        def call():
            body = {**manifest["payloads"][instrument][0], "assessed_on": assessed_on, "action": "complete"}
            answer = assessor.post(f"/assessments/p/{trial_id}/{visit}/{instrument}/", body)
            assert answer.status_code == 302, answer.status_code

        return call

    def get_form(task):
        trial_id, visit, instrument, _ = task
        return lambda: assessor.get(f"/assessments/p/{trial_id}/{visit}/{instrument}/")

    measure("assessment form GET", [get_form(t) for t in due])
    measure("assessment form POST", [post_form(t) for t in due])


if __name__ == "__main__":
    main()
