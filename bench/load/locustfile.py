"""Locust clients for the load test: assessors entering forms and coordinators randomising, on the web pages.

Started by ``bench/load/run.py`` (headless, bounded) against a server on 127.0.0.1 only. Environment:

  LOAD_MANIFEST      the seed's manifest (logins with their sessions, participant pools, answer sets)
  LOAD_SUMMARY       where to write the per-request-type summary JSON when the run stops
  LOAD_MAX_REQUESTS  stop the whole run after this many requests (default 200000)
  LOAD_THINK         an assessor's mean pause in seconds while filling a form, and again between forms
  LOAD_ASSESSORS, LOAD_RANDOMISERS   how many of each client (default 50 and 16)
  LOAD_CHANNEL       web (the HTML forms, default) or api (the REST API with the manifest's tokens)

On the web every client starts signed in with a session the seed made (as after the login page), so the
measured requests are the work itself, not 66 Argon2 password checks at start-up.

- ``AssessorUser`` (50): opens a due form (GET), fills it in (a pause), completes it (POST, answered by a
  redirect to the saved form). The form sequence is shared per site, so no two assessors take one form.
- ``RandomiserUser`` (16): posts the randomisation confirmation of the next participant of its site
  (answered by a redirect to the participant's page), with no pause: the allocation throughput.

Through the API (``LOAD_CHANNEL=api``) the same work goes to ``GET``/``PUT
/api/participants/{id}/visits/{visit}/assessments/{instrument}`` and ``POST
/api/participants/{id}/randomisation`` (a fresh Idempotency-Key each), with a bearer token per client.

A response other than the expected one is a failure, and is counted as an error.
"""

from __future__ import annotations

import json
import os
import random
import re
import uuid
from collections import deque
from http.cookiejar import Cookie
from itertools import count
from pathlib import Path
from urllib.parse import urlencode, urlparse

import gevent
from locust import FastHttpUser, constant, events, task

MANIFEST = json.loads(Path(os.environ["LOAD_MANIFEST"]).read_text())
MAX_REQUESTS = int(os.environ.get("LOAD_MAX_REQUESTS", "200000"))
THINK = float(os.environ.get("LOAD_THINK", "1.0"))
API = os.environ.get("LOAD_CHANNEL", "web") == "api"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

# Work shared by the clients of one process (locust runs them as greenlets in one thread).
ready = {site: deque(ids) for site, ids in MANIFEST["ready"].items()}
due_forms = {site: deque(tasks) for site, tasks in MANIFEST["tasks"].items()}
logins = {
    "coordinators": deque((site, name) for site, names in MANIFEST["coordinators"].items() for name in names),
    "assessors": deque((site, name) for site, names in MANIFEST["assessors"].items() for name in names),
}
requests_made = count(1)


def _cookie(name: str, value: str, host: str) -> Cookie:
    return Cookie(version=0, name=name, value=value, port=None, port_specified=False, domain=host,
                  domain_specified=False, domain_initial_dot=False, path="/", path_specified=True,
                  secure=False, expires=None, discard=False, comment=None, comment_url=None, rest={})


@events.test_start.add_listener
def _local_only(environment, **_kwargs) -> None:
    host = urlparse(environment.host or "").hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"the load test runs against a local server only, not {host!r}")


@events.request.add_listener
def _budget(**_kwargs) -> None:
    if next(requests_made) >= MAX_REQUESTS and _runner is not None:
        gevent.spawn(_runner.quit)


_runner = None


@events.init.add_listener
def _keep_runner(environment, **_kwargs) -> None:
    global _runner  # noqa: PLW0603 - the request budget needs the runner, which locust makes after import
    _runner = environment.runner


@events.quitting.add_listener
def _summary(environment, **_kwargs) -> None:
    path = os.environ.get("LOAD_SUMMARY")
    if not path:
        return
    entries = {}
    for (name, method), entry in environment.stats.entries.items():
        span = max(entry.last_request_timestamp - entry.start_time, 1e-9) if entry.num_requests else 0.0
        entries[name] = {
            "method": method,
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50_ms": entry.get_response_time_percentile(0.5),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
            "max_ms": entry.max_response_time,
            "mean_ms": entry.avg_response_time,
            "first": entry.start_time,
            "last": entry.last_request_timestamp,
            "per_second": entry.num_requests / span if span else 0.0,
        }
    errors = [
        {"name": e.name, "method": e.method, "error": str(e.error), "occurrences": e.occurrences}
        for e in environment.stats.errors.values()
    ]
    Path(path).write_text(json.dumps({"entries": entries, "errors": errors}, indent=2))


class SignedIn(FastHttpUser):
    abstract = True
    kind = ""

    def on_start(self) -> None:
        self.site, self.username = logins[self.kind].popleft()
        self.csrf = ""
        if API:
            self.auth = {"Authorization": f"Bearer {MANIFEST['tokens'][self.username]}"}
            return
        host = urlparse(self.host).hostname
        self.client.cookiejar.set_cookie(
            _cookie(MANIFEST["session_cookie"], MANIFEST["sessions"][self.username], host)
        )

    def take_csrf(self, html: str) -> None:
        if found := CSRF_FIELD.search(html):
            self.csrf = found.group(1)


class AssessorUser(SignedIn):
    fixed_count = int(os.environ.get("LOAD_ASSESSORS", "50"))
    kind = "assessors"
    wait_time = constant(0)

    @task
    def enter_a_form(self) -> None:
        try:
            trial_id, visit, instrument, assessed_on = due_forms[self.site].popleft()
        except IndexError:
            gevent.sleep(1)  # every due form is entered
            return
        if API:
            self.enter_through_the_api(trial_id, visit, instrument, assessed_on)
            return
        url = f"/assessments/p/{trial_id}/{visit}/{instrument}/"
        with self.client.get(url, name="assessment form GET", catch_response=True) as page:
            if page.status_code != 200 or not CSRF_FIELD.search(page.text or ""):
                page.failure(f"form page answered {page.status_code}")
                return
            self.take_csrf(page.text)
        gevent.sleep(random.uniform(0.5, 1.5) * THINK)  # filling the form in
        answers = random.choice(MANIFEST["payloads"][instrument])
        body = {**answers, "assessed_on": assessed_on, "action": "complete", "csrfmiddlewaretoken": self.csrf}
        with self.client.post(url, data=urlencode(body), headers=FORM, name="assessment form POST",
                              allow_redirects=False, catch_response=True) as saved:  # fmt: skip
            if saved.status_code != 302:
                saved.failure(f"completing the form answered {saved.status_code}")
        gevent.sleep(random.uniform(0.5, 1.5) * THINK)  # to the next participant

    def enter_through_the_api(self, trial_id: str, visit: str, instrument: str, assessed_on: str) -> None:
        url = f"/api/participants/{trial_id}/visits/{visit}/assessments/{instrument}"
        with self.client.get(url, headers=self.auth, name="assessment form GET", catch_response=True) as got:
            if got.status_code != 200:
                got.failure(f"reading the form answered {got.status_code}")
                return
        gevent.sleep(random.uniform(0.5, 1.5) * THINK)
        answers = random.choice(MANIFEST["payloads"][instrument])
        body = {"assessed_on": assessed_on, "complete": True,
                "values": {name.removeprefix("item_"): value for name, value in answers.items()}}
        with self.client.put(url, json=body, headers={**self.auth, "Idempotency-Key": uuid.uuid4().hex},
                             name="assessment form POST", catch_response=True) as saved:  # fmt: skip
            if saved.status_code != 200:
                saved.failure(f"completing the form answered {saved.status_code}")
        gevent.sleep(random.uniform(0.5, 1.5) * THINK)


class RandomiserUser(SignedIn):
    fixed_count = int(os.environ.get("LOAD_RANDOMISERS", "16"))
    kind = "coordinators"
    wait_time = constant(0)

    def on_start(self) -> None:
        super().on_start()
        if API:
            return
        # The confirmation page carries the form's CSRF token (and sets the cookie): one GET, not timed.
        first = ready[self.site][0]
        page = self.client.get(f"/randomisation/{first}/", name="setup: randomise page GET")
        self.take_csrf(page.text or "")

    @task
    def randomise(self) -> None:
        try:
            trial_id = ready[self.site].popleft()
        except IndexError:
            gevent.sleep(1)  # everyone at this site is randomised
            return
        if API:
            headers = {**self.auth, "Idempotency-Key": uuid.uuid4().hex}
            with self.client.post(f"/api/participants/{trial_id}/randomisation", headers=headers,
                                  name="randomise POST", catch_response=True) as done:  # fmt: skip
                if done.status_code != 201:
                    done.failure(f"randomisation answered {done.status_code}")
            return
        body = {"confirm": "on", "csrfmiddlewaretoken": self.csrf}
        with self.client.post(f"/randomisation/{trial_id}/", data=urlencode(body), headers=FORM,
                              name="randomise POST", allow_redirects=False, catch_response=True) as done:
            if done.status_code == 302 and f"/participants/{trial_id}" in done.headers.get("Location", ""):
                done.success()
            else:
                done.failure(f"randomisation answered {done.status_code}")

