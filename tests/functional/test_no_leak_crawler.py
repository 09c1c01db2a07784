"""No leak to a blinded assessor: signed in as the demo assessor on a small two-site trial with IMR groups,
sessions, attendance, goals, guesses, queries, unblinding requests, a fidelity rating, snapshots and an
analysis run (tests/web_support.py), crawl every link and GET form reachable from the home page, request
every export and audit download there is, and read every API GET endpoint of the OpenAPI description
with the assessor's own token. No page, file or API answer may name an arm (code or label, except as the
choices of the allocation-guess form), a group, a recovery goal, a facilitator, a curriculum module, or
session or attendance data.
"""

from __future__ import annotations

import json
import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlparse

import pytest
from django.test import Client
from django.urls import reverse

import web_support
from trialdesk.apps.snapshots.export import FORMATS
from trialdesk.instruments import get_library

PAGE_LIMIT = 1500
GUESS_CHOICES = re.compile(r"<fieldset[^>]*data-guess-choices.*?</fieldset>", re.S)
SKIP_PREFIXES = ("/static/", "/logout/")


class _Links(HTMLParser):
    """Same-page links and GET forms (as URLs with each field's shown value)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._form: dict | None = None

    def handle_starttag(self, tag, attrs):
        values = {k: v or "" for k, v in attrs}
        if tag == "a" and values.get("href"):
            self.urls.append(values["href"])
        elif tag == "form" and values.get("method", "get").lower() == "get":
            self._form = {"action": values.get("action", ""), "fields": {}, "select": None}
        elif self._form is not None and tag == "input" and values.get("name"):
            if values.get("type") not in ("checkbox", "radio") or "checked" in values:
                self._form["fields"].setdefault(values["name"], values.get("value", ""))
        elif self._form is not None and tag == "select" and values.get("name"):
            self._form["select"] = values["name"]
            self._form["fields"].setdefault(values["name"], "")
        elif self._form is not None and tag == "option" and self._form["select"]:
            name = self._form["select"]
            if "selected" in values or not self._form["fields"][name]:
                self._form["fields"][name] = values.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select" and self._form is not None:
            self._form["select"] = None
        if tag == "form" and self._form is not None:
            self.urls.append(f"{self._form['action']}?{urlencode(self._form['fields'])}")
            self._form = None


def links(base: str, html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    found = []
    for href in parser.urls:
        absolute = urlparse(urljoin(f"http://testserver{base}", href))
        if absolute.netloc == "testserver" and not absolute.path.startswith(SKIP_PREFIXES):
            found.append(absolute.path + (f"?{absolute.query}" if absolute.query else ""))
    return found


def forbidden(trial: web_support.Trial) -> list[re.Pattern]:
    """What a blinded reader must never be shown."""
    protocol = trial.protocol
    patterns = []
    for arm in protocol.arms:
        patterns.append(re.compile(rf"\b{re.escape(arm.code)}\b"))  # IMR and TAU as words (IMRS is a scale)
        patterns.append(re.compile(re.escape(arm.label), re.I))
    patterns.append(re.compile(re.escape(protocol.intervention.name), re.I))
    words = [*web_support.GROUP_NAMES.values(), web_support.GOAL_TEXT, "Find the opening hours",
             "Freja Facilitator", "Karl Facilitator", "cofacilitator", "attendance", "attended",
             "absent_without_notice", "absent without notice"]  # fmt: skip
    # Curriculum module titles, except those the outcome scales also use as item wording (the IMR Scale
    # asks about "Using medication effectively", say): those are the assessor's own forms.
    scales = " ".join(repr(get_library().get(code)) for code in get_library().codes()).lower()
    words += [m.title for m in protocol.intervention.modules if m.title.lower() not in scales]
    patterns += [re.compile(re.escape(word), re.I) for word in words]
    patterns.append(re.compile(r"\bsessions?\b", re.I))
    return patterns


def leaks(patterns: list[re.Pattern], text: str) -> list[str]:
    shown = GUESS_CHOICES.sub("", text)
    return sorted({m.group(0) for pattern in patterns for m in pattern.finditer(shown)})


@pytest.fixture(scope="module")
def trial(django_db_setup, django_db_blocker, tmp_path_factory):
    with web_support.built_once(django_db_blocker, tmp_path_factory, "crawl-data") as built:
        yield built


@pytest.fixture(autouse=True)
def _environment(trial, personal_data_key, settings):
    settings.DATA_DIR = trial.extra["data_dir"]


def _text(response) -> str:
    # Reading a streamed answer to its end closes it (the test client's wrapper); closing it again would
    # fire request_finished and close the database connection inside the test's transaction.
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if body[:2] == b"PK":  # a zip of export files: read every member
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return body.decode("utf-8", "replace")


def crawl(client: Client, start: list[str]) -> dict[str, tuple[int, str]]:
    seen: dict[str, tuple[int, str]] = {}
    queue = deque(start)
    while queue and len(seen) < PAGE_LIMIT:
        url = queue.popleft().split("#")[0]
        if url in seen:
            continue
        response = client.get(url)
        text = _text(response)
        seen[url] = (response.status_code, text)
        if response.status_code in (301, 302, 303):
            queue.append(urlparse(response["Location"]).path)
        elif response.get("Content-Type", "").startswith("text/html"):
            queue.extend(links(urlparse(url).path, text))
    return seen


def _exports(trial) -> list[str]:
    """Every export and audit download, whether or not a page links to it."""
    from trialdesk.datasets import TABLES

    urls = [reverse("snapshots:index"), reverse("intervention:dose_csv"), reverse("datamanagement:audit_csv")]
    urls += [reverse("snapshots:table", kwargs={"name": name}) for name in TABLES]
    urls += [reverse("snapshots:download", kwargs={"fmt": fmt}) for fmt in FORMATS]
    return urls


@pytest.mark.django_db
def test_nothing_reachable_by_an_assessor_reveals_allocation(trial):
    client = Client()
    client.force_login(trial.users()["assessor"])
    pages = crawl(client, ["/", *_exports(trial)])
    assert len(pages) < PAGE_LIMIT, "the crawl hit its page limit before the end"
    errors = {url: status for url, (status, _) in pages.items() if status >= 500}
    assert errors == {}
    patterns = forbidden(trial)
    found = {url: leaks(patterns, text) for url, (_, text) in pages.items() if leaks(patterns, text)}
    assert found == {}
    # The crawl reached the assessor's work: the worklist, a participant's visits, a form, a guess form.
    reached = set(pages)
    person = trial.people["BAL"][1].trial_id
    for url in ("/assessments/", f"/assessments/p/{person}/", f"/assessments/p/{person}/m9/guess/",
                f"/assessments/p/{person}/m9/panss/"):  # fmt: skip
        assert pages.get(url, (0,))[0] == 200, url
    # ... the guess form does list the arms (as choices only): the check above would see them elsewhere.
    assert "IMR + treatment as usual" in pages[f"/assessments/p/{person}/m9/guess/"][1]
    # Exports and audit downloads are refused to the assessor, not merely unlinked.
    for url in _exports(trial):
        assert pages[url][0] in (403, 404), url
    # The other site's participants are out of reach.
    other = trial.people["FRB"][1].trial_id
    assert not any(other in url for url in reached)
    assert len(pages) > 40


@pytest.mark.django_db
def test_the_api_reveals_no_allocation_to_an_assessor(trial):
    """Every GET endpoint of the OpenAPI description, with the assessor's token, for their participants."""
    from trialdesk.api.tokens import create_token
    from trialdesk.apps.ledger.services import Context

    assessor = trial.users()["assessor"]
    secret, _ = create_token(assessor, Context(actor=assessor.username, channel="web"), name="crawl", days=1)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    schema = client.get("/api/openapi.json").json()
    people = [p.trial_id for p in trial.people["BAL"]] + [trial.waiting["BAL"].trial_id]
    values = {
        "trial_id": people,
        "visit": ["baseline", "m9"],
        "instrument": list(trial.protocol.visit("m9").instruments),
        "pk": [q.pk for q in trial.queries.values()],
        "name": ["participants", "visits", "dose"],
        "fmt": ["csv"],
    }
    urls: list[str] = []
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        params = re.findall(r"{(\w+)}", path)
        assert set(params) <= set(values), f"no test values for {path}"
        filled = [path]
        for param in params:
            filled = [u.replace(f"{{{param}}}", str(v)) for u in filled for v in values[param]]
        urls += filled
    answers = {}
    for url in urls:
        response = client.get(url)
        answers[url] = (response.status_code, _text(response))
    assert {u: s for u, (s, _) in answers.items() if s >= 500} == {}
    patterns = forbidden(trial)
    found = {url: leaks(patterns, text) for url, (_, text) in answers.items() if leaks(patterns, text)}
    # The API's own description names the endpoints (e.g. "allocation"), never a value: checked separately.
    assert found == {}
    assert sum(1 for s, _ in answers.values() if s == 200) > 10
    assert json.loads(answers[f"/api/participants/{people[0]}"][1])["trial_id"] == people[0]


@pytest.mark.django_db
def test_the_same_crawl_as_a_facilitator_does_find_groups_and_attendance(trial):
    """The control: the patterns match what unblinded pages really show, so silence above means something."""
    client = Client()
    client.force_login(trial.users()["facilitator"])
    pages = crawl(client, ["/"])
    found = {word.lower() for _, text in pages.values() for word in leaks(forbidden(trial), text)}
    assert {web_support.GROUP_NAMES["BAL"].lower(), "imr", "attendance", "session"} <= found
