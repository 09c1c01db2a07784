"""Audit review: the ledger filtered by each dimension, role changes and failed logins in it, blinded
reviewers kept from IMR delivery entries, site-bound reviewers kept to their site, and the CSV export from
the library and from ``trialdesk audit export``."""

import csv
import datetime as dt
import io
import json

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory

from datamanagement_support import BASELINE_FORM, BASELINE_ON, correct, install, with_baseline_form
from enrolment_support import user
from intervention_support import group
from trialdesk import clock
from trialdesk.apps.accounts.models import Membership
from trialdesk.apps.accounts.services import revoke_role
from trialdesk.apps.datamanagement.audit import AuditFilter, csv_lines, entries_for
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.problems import InputError
from trialdesk.cli import main

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def trail():
    """Two participants at two sites; one correction by another user, through another channel, a year on."""
    ctx = install()
    with clock.frozen(dt.datetime(2011, 4, 1, 12)):
        first = with_baseline_form(ctx, "BAL")
        second = with_baseline_form(ctx, "FRB")
    later = Context(actor="cora", channel="import", protocol_hash=ctx.protocol_hash)
    with clock.frozen(dt.datetime(2012, 4, 2, 12)):
        correct(
            first,
            "baseline",
            "baseline",
            {**BASELINE_FORM, "age": 35},
            later,
            on=BASELINE_ON,
            reason="age mistyped",
        )
    return first, second


def _pick(user_, **params):
    return list(entries_for(user_, AuditFilter.from_params(params)))


def test_each_dimension_filters(trail):
    first, second = trail
    operator = None
    by_participant = _pick(operator, participant=first.trial_id)
    assert by_participant and {e.participant for e in by_participant} == {first.trial_id}
    assert not {e.participant for e in _pick(operator, participant=second.trial_id)} - {second.trial_id}
    by_user = _pick(operator, user="cora")
    assert by_user and {e.actor for e in by_user} == {"cora"}
    by_form = _pick(operator, entity="assessment")
    assert {e.entity for e in by_form} == {"assessment"} and len(by_form) >= 3
    by_field = _pick(operator, field="item age")
    assert [(e.old_value, e.new_value, e.reason, e.actor) for e in by_field] == [
        ("34", "35", "age mistyped", "cora")
    ]
    by_channel = _pick(operator, channel="import")
    assert by_channel and {e.channel for e in by_channel} == {"import"}
    in_2012 = _pick(operator, since="2012-01-01", until="2012-12-31")
    assert in_2012 and {e.at.year for e in in_2012} == {2012}
    through_2011 = _pick(operator, until="2011-12-31")
    assert through_2011 and all(e.at.year <= 2011 for e in through_2011)
    assert len(in_2012) + len(_pick(operator, since="2011-01-01", until="2011-12-31")) == len(
        _pick(operator, since="2011-01-01", until="2012-12-31")
    )
    combined = _pick(operator, participant=first.trial_id, user="cora", field="item age", channel="import")
    assert [e.seq for e in combined] == [e.seq for e in by_field]


def test_bad_filter_values_are_refused_at_their_field():
    with pytest.raises(InputError) as refused:
        AuditFilter.from_params({"since": "yesterday", "channel": "fax"})
    assert set(refused.value.fields) == {"since", "channel"}
    with pytest.raises(InputError) as refused:
        AuditFilter.from_params({"since": "2012-02-01", "until": "2012-01-01"})
    assert set(refused.value.fields) == {"until"}


def test_role_changes_and_failed_logins_are_in_the_review():
    install()
    reviewer = user("dana", "data_manager")
    coordinator = user("cora", "coordinator", "BAL")
    login = RequestFactory().post("/login/")
    assert authenticate(login, username="cora", password="wrong") is None
    revoke_role(
        Membership.objects.get(user=coordinator),
        Context(actor="admin", channel="web"),
        reason="left the trial",
    )
    grants = _pick(reviewer, user="setup", field="role")
    assert any('"role": "coordinator"' in e.new_value and e.entity_id == "cora" for e in grants)
    revoked = _pick(reviewer, user="admin", field="role")
    assert [(e.action, e.reason) for e in revoked] == [("revoke-role", "left the trial")]
    failed = [e for e in _pick(reviewer, user="cora") if e.action == "login-failed"]
    assert len(failed) == 1 and failed[0].entity == "session"


def test_blinded_reviewers_never_see_imr_delivery_and_site_reviewers_see_their_site(trail):
    first, second = trail
    ctx = Context(actor="signe", channel="web", protocol_hash=first.protocol_hash)
    group(ctx, "BAL")
    assert LedgerEntry.objects.filter(entity__startswith="imr-").exists()
    blinded = user("dana", "data_manager")
    unblinded = user("stan", "statistician")
    user("stan-audit", "admin")
    monitor_bal = user("mona", "monitor", "BAL")
    seen_blinded = _pick(blinded)
    assert seen_blinded and not any(e.entity.startswith("imr-") for e in seen_blinded)
    assert not _pick(unblinded)  # a statistician does not review the audit trail at all
    local = _pick(monitor_bal)
    assert local and {e.site for e in local} == {"BAL"}
    assert not _pick(monitor_bal, participant=second.trial_id)


def test_csv_export_has_the_same_rows_as_the_page(trail):
    first, _ = trail
    chosen = AuditFilter.from_params({"participant": first.trial_id})
    rows = list(csv.reader(io.StringIO("".join(csv_lines(entries_for(None, chosen), chunk_size=3)))))
    assert rows[0][:3] == ["seq", "at", "actor"]
    assert [int(r[0]) for r in rows[1:]] == [e.seq for e in entries_for(None, chosen)]
    assert {r[12] for r in rows[1:]} == {first.trial_id}


def test_cli_export_filters_and_writes_a_file(trail, tmp_path, capsys):
    first, _ = trail
    out = tmp_path / "audit.csv"
    assert (
        main(
            [
                "audit",
                "export",
                "--participant",
                first.trial_id,
                "--user",
                "cora",
                "--since",
                "2012-01-01",
                "--out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert summary == {"rows": len(rows), "out": str(out)}
    assert rows and {(r["actor"], r["participant"]) for r in rows} == {("cora", first.trial_id)}
    assert any(r["field"] == "item age" and r["reason"] == "age mistyped" for r in rows)


def test_cli_export_refuses_bad_dates_with_one_line(capsys):
    install()
    assert main(["audit", "export", "--since", "last week"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "since" in err[0] and "YYYY-MM-DD" in err[0]
