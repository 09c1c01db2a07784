"""The register upload page through the Django test client: key holders only, report shown, CPRs never.

An upload is imported by a background job; these tests run it in this process as the worker would
(``registers_support.upload_and_run``), see tests/functional/test_registers_jobs.py for the job itself."""

import datetime as dt
import re

import pytest
from django.test import Client

from enrolment_support import install, new_cpr, user
from registers_support import csv_bytes, keeper, randomised, row_counts, upload_and_run
from trialdesk.apps.participants.services import read_personal_data
from trialdesk.apps.registers.models import RegisterEvent, RegisterImport

# data_dir: where uploads wait for their job.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]


@pytest.fixture
def cprs():
    ctx = install()
    people = [randomised(ctx, dt.date(2011, 3, 10)) for _ in range(2)]
    return [read_personal_data(p, ctx).cpr for p in people]


def client_for(who) -> Client:
    client = Client()
    client.force_login(who)
    return client


def upload(client, data: bytes, name: str = "extract.csv", **fields):
    """The job's page once it ended, or the reconciliation report it links to when it is done."""
    page = upload_and_run(client, data, name, **fields)
    report = re.search(r'href="(/registers/\d+/)"', page.content.decode())
    return client.get(report.group(1)) if report else page


def assert_no_cpr(html: str, *numbers: str) -> None:
    for number in numbers:
        assert number not in html
        assert number.replace("-", "") not in html


def test_key_holder_uploads_and_sees_the_reconciliation_report(cprs):
    client = client_for(keeper())
    page = client.get("/registers/")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.content.decode()
    data = csv_bytes([(cprs[0], "admission", "2011-04-01", "2011-04-10"),
                      (cprs[1], "er_visit", "2011-05-02", "")])
    response = upload(client, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert response.request["PATH_INFO"] == f"/registers/{RegisterImport.objects.get().pk}/"
    assert '<td id="rows-read">2</td>' in html
    assert '<td id="events-created">2</td>' in html
    assert_no_cpr(html, *cprs)
    again = upload(client, data).content.decode()
    assert '<td id="events-already">2</td>' in again
    assert RegisterEvent.objects.count() == 2
    listing = client.get("/registers/").content.decode()
    assert "extract.csv" in listing
    assert_no_cpr(listing, *cprs)


def test_unmatched_cpr_is_refused_masked_then_accepted_on_request(cprs):
    client = client_for(keeper())
    stranger = new_cpr()
    data = csv_bytes([(cprs[0], "er_visit", "2011-05-02", ""), (stranger, "er_visit", "2011-05-02", "")])
    before = row_counts()
    refused = upload(client, data)
    html = refused.content.decode()
    assert '<dd id="status">failed</dd>' in html
    assert 'role="alert"' in html
    assert f"row 3: {stranger[:6]}-****" in html
    assert row_counts() == before
    accepted = upload(client, data, accept_unmatched="on").content.decode()
    assert '<td id="rows-unmatched">1</td>' in accepted
    assert f"row 3: {stranger[:6]}-****" in accepted
    assert_no_cpr(html + accepted, stranger, *cprs)


@pytest.mark.parametrize(
    ("rows", "header", "expected"),
    [
        ([("{0}", "admission", "2011-04-10", "2011-04-01")], None,
         "row 2, column end_date: discharge date 2011-04-01 is before the start date 2011-04-10"),
        ([("{0}", "er_visit", "2011-05-02", ""), ("{0}", "er_visit", "2011-05-02", "")], None,
         "row 3: duplicates row 2"),
        ([("{0}", "er_visit", "May 2nd", "")], None, "row 2, column start_date: not a date"),
    ],
    ids=["discharge-before-admission", "duplicated-row", "non-date"],
)  # fmt: skip
def test_bad_extracts_show_every_problem_and_store_nothing(cprs, rows, header, expected):
    client = client_for(keeper())
    filled = [tuple(cell.format(cprs[0]) for cell in row) for row in rows]
    data = csv_bytes(filled, header=header) if header else csv_bytes(filled)
    before = row_counts()
    response = upload(client, data)
    html = response.content.decode()
    assert '<dd id="status">failed</dd>' in html
    assert expected in html
    assert row_counts() == before
    assert_no_cpr(html, *cprs)


@pytest.mark.parametrize(
    ("role", "site"),
    [("assessor", "BAL"), ("data_manager", None), ("coordinator", "BAL"), ("statistician", None)],
)
def test_only_personal_data_key_holders_reach_the_pages(cprs, role, site):
    # The same roles without the personal-data permission.
    client = client_for(user(f"u-{role}", role, site))
    assert client.get("/registers/").status_code == 403
    data = csv_bytes([(cprs[0], "er_visit", "2011-05-02", "")])
    assert upload(client, data).status_code == 403
    assert RegisterEvent.objects.count() == 0


def test_report_page_is_for_key_holders_too(cprs):
    upload(client_for(keeper()), csv_bytes([(cprs[0], "er_visit", "2011-05-02", "")]))
    pk = RegisterImport.objects.get().pk
    assert client_for(user("dm", "data_manager")).get(f"/registers/{pk}/").status_code == 403
    assert Client().get(f"/registers/{pk}/")["Location"].startswith("/login/")
