"""Analysis runs on snapshots of a small trial built through the real services.

The trial (tests/snapshots_support.py) is too small for the models (six participants, one IMR group):
the plan's model parts end as notes, while the CONSORT counts, which need no model, are checked against
counts queried straight from the database.
"""

import datetime as dt
import json
import os

import pytest
from django.test import Client

import snapshots_support as trial
from enrolment_support import TEST_KEY, user
from trialdesk import clock
from trialdesk.apps.analysis import services
from trialdesk.apps.analysis.models import AnalysisRun
from trialdesk.apps.datamanagement.locks import lock
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants import keys
from trialdesk.apps.participants.models import Participant, StatusEvent
from trialdesk.apps.randomisation.models import Allocation
from trialdesk.apps.screening.models import Screening
from trialdesk.apps.snapshots.models import Snapshot
from trialdesk.apps.snapshots.snapshot import snapshot_dir, take_snapshot
from trialdesk.cli import main
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setenv(keys.ENV_KEY, TEST_KEY)
        data = trial.build()
        data["statistician"] = user("stan", "statistician", None, unblinded=True)
        data["blinded_statistician"] = user("bo", "statistician", None)
        data["data_manager"] = user("dina", "data_manager", None)
    yield data
    with django_db_blocker.unblock():
        trial.wipe()


def _ctx():
    return Context(actor="stan", channel="command")


def test_analysing_without_a_snapshot_fails_clearly(built, capsys):
    with pytest.raises(UserError, match="no locked snapshot"):
        services.run_now(_ctx())
    assert main(["analyse", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: there is no locked snapshot") and "Traceback" not in err


@pytest.mark.parametrize("name", ["scores.parquet", "manifest.json"])
def test_a_tampered_snapshot_is_refused_naming_the_file(built, capsys, name):
    snapshot = take_snapshot(_ctx(), "lock", blinded=False)
    path = snapshot_dir(snapshot.id) / name
    os.chmod(path.parent, 0o700)
    os.chmod(path, 0o600)
    path.write_bytes(path.read_bytes() + b"x")
    assert main(["analyse", "--snapshot", snapshot.id]) == 2
    started, error = capsys.readouterr().err.strip().splitlines()  # the run's first line, then the error
    assert started.startswith("analysis run ") and snapshot.id in started
    assert error.startswith(f"error: snapshot {snapshot.id}: {path} does not match") and "SHA-256" in error
    run = AnalysisRun.objects.get(snapshot=snapshot)
    assert run.status == AnalysisRun.FAILED and name in run.error


LOCKED_AT = dt.datetime(2014, 12, 31, 12, 0, tzinfo=dt.UTC)


def _lock(built):
    return lock("database", Context(actor="dina", channel="web"), user=built["data_manager"],
                reason="end of follow-up")  # fmt: skip


def test_the_database_locks_blinded_snapshot_is_refused_saying_how_to_take_the_unblinded_one(built, capsys):
    with clock.frozen(LOCKED_AT):
        made = _lock(built)
        blinded = Snapshot.objects.get(pk=made.snapshot_id)
        assert blinded.blinded
        for args in (["analyse"], ["analyse", "--json", "--snapshot", blinded.id], ["report", "--no-pdf"]):
            assert main(args) == 2, args
            lines = capsys.readouterr().err.strip().splitlines()
            assert len(lines) == 1, lines
            assert lines[0].startswith(f"error: snapshot {blinded.id} (database lock {made.pk}) is blinded")
            assert "`trialdesk snapshot take --unblinded --user NAME --label LABEL`" in lines[0]
        assert AnalysisRun.objects.count() == 0  # refused before anything is stored
        # The unblinded statistician takes the analysis snapshot of the locked data, at the same instant.
        assert main(["snapshot", "take", "--unblinded", "--user", "stan", "--label", "analysis"]) == 0
        capsys.readouterr()
        unblinded = Snapshot.objects.get(blinded=False)
        assert unblinded.taken_at == blinded.taken_at
        assert main(["analyse", "--json"]) == 0
    out = capsys.readouterr().out
    provenance = json.loads(out)["provenance"]
    assert provenance["snapshot_hash"] == unblinded.manifest_sha256
    assert provenance["snapshot"] == {
        "id": unblinded.id,
        "label": "analysis",
        "taken_at": LOCKED_AT.isoformat(),
        "blinded": False,
        "database_lock": {"id": made.pk, "locked_at": LOCKED_AT.isoformat(), "locked_by": "dina",
                          "snapshot": blinded.id},
    }  # fmt: skip
    assert AnalysisRun.objects.get().snapshot_id == unblinded.id


def test_an_older_unblinded_snapshot_is_named_but_not_silently_analysed(built, capsys):
    with clock.frozen(LOCKED_AT - dt.timedelta(days=90)):
        interim = take_snapshot(_ctx(), "interim, for the DMC", blinded=False)
    with clock.frozen(LOCKED_AT):
        made = _lock(built)
        assert main(["analyse"]) == 2
        err = capsys.readouterr().err
        assert f"snapshot {made.snapshot_id} (database lock {made.pk}) is blinded" in err
        assert f"the latest unblinded snapshot, {interim.id}, was taken before it" in err
        assert main(["analyse", "--snapshot", interim.id]) == 0
    err = capsys.readouterr().err
    assert f"snapshot {interim.id} (interim, for the DMC), taken while the database was not locked" in err
    run = AnalysisRun.objects.get()
    assert run.snapshot_id == interim.id and run.results["provenance"]["snapshot"]["database_lock"] is None


def test_consort_counts_match_the_database(built):
    snapshot = take_snapshot(_ctx(), "lock", blinded=False)
    run = services.run_now(_ctx(), snapshot.id)
    assert run.status == AnalysisRun.DONE and run.progress == 1.0
    consort = run.results["consort"]
    assert consort["screened"] == Screening.objects.filter(rescreen_of__isnull=True).count()
    randomised = StatusEvent.objects.filter(to_state="randomised").values("participant").distinct().count()
    assert consort["randomised"] == randomised == Allocation.objects.count() == 6
    for arm in ("IMR", "TAU"):
        assert consort["allocated"][arm] == Allocation.objects.filter(arm=arm).count()
        assert consort["analysed"][arm] == consort["allocated"][arm]
    assert sum(consort["allocated"].values()) == consort["randomised"]
    assert Participant.objects.count() >= consort["randomised"]
    # Six participants cannot carry the models: each result says why instead of failing the run.
    primary = run.results["primary"]
    assert (primary["outcome"], primary["status"]) == ("gaf_f_m9", "not_estimable")
    assert primary["reason"] and "estimate" not in primary
    assert f"primary outcome gaf_f_m9 at m9: not estimable: {primary['reason']}" in run.results["notes"]
    assert run.results["provenance"]["snapshot_hash"] == snapshot.manifest_sha256


def test_two_runs_on_one_snapshot_give_identical_results(built):
    snapshot = take_snapshot(_ctx(), "lock", blinded=False)
    first, second = services.run_now(_ctx(), snapshot.id), services.run_now(_ctx(), snapshot.id)
    assert first.results_sha256 == second.results_sha256 != ""


def test_blinded_roles_cannot_reach_closed_report_or_arm_split_dashboard(built):
    snapshot = take_snapshot(_ctx(), "lock", blinded=False)
    run = services.run_now(_ctx(), snapshot.id)
    for who in ("assessor", "blinded_statistician", "data_manager"):
        client = Client()
        client.force_login(built[who])
        for url in (f"/analysis/runs/{run.pk}/report/closed/", "/analysis/dashboard/by-arm/"):
            response = client.get(url)
            assert response.status_code == 403, (who, url)
            assert b"IMR" not in response.content and b"TAU" not in response.content
    assessor = Client()
    assessor.force_login(built["assessor"])
    assert assessor.get("/analysis/dashboard/").status_code == 403
    assert assessor.get(f"/analysis/runs/{run.pk}/report/open/").status_code == 403
    manager = Client()
    manager.force_login(built["data_manager"])
    pooled = manager.get("/analysis/dashboard/")
    assert pooled.status_code == 200
    assert b"IMR + treatment" not in pooled.content and b">TAU<" not in pooled.content
    statistician = Client()
    statistician.force_login(built["statistician"])
    split = statistician.get("/analysis/dashboard/by-arm/")
    assert split.status_code == 200 and b"<td>IMR</td>" in split.content
    assert statistician.get(f"/analysis/runs/{run.pk}/").status_code == 200


# The worker is its own actor: it commits each task and closes its connection between polls, as a separate
# process would, so this test runs outside the per-test transaction (it is the module's last test: the
# table flush afterwards only precedes the module's own clean-up).
@pytest.mark.django_db(transaction=True)
def test_a_queued_run_is_picked_up_by_the_worker(built, settings):
    snapshot = take_snapshot(_ctx(), "lock", blinded=False)
    run = services.enqueue(services.create_run(_ctx(), snapshot.id))
    assert run.status == AnalysisRun.QUEUED and run.task_id
    client = Client()
    client.force_login(built["statistician"])
    page = client.get(f"/analysis/runs/{run.pk}/")
    assert b'http-equiv="refresh"' in page.content and b"queued" in page.content
    assert main(["worker", "--batch", "--interval", "0"]) == 0
    run.refresh_from_db()
    assert run.status == AnalysisRun.DONE


def test_the_run_form_offers_only_snapshots_the_plan_accepts(built):
    statistician = Client()
    statistician.force_login(built["statistician"])
    with clock.frozen(LOCKED_AT):
        made = _lock(built)
        page = statistician.get("/analysis/").content.decode()
        assert f'<option value="{made.snapshot_id}">' not in page  # the lock's blinded snapshot
        assert "No unblinded snapshot yet" in page and "trialdesk snapshot take --unblinded" in page
        unblinded = take_snapshot(_ctx(), "analysis", blinded=False)
        page = statistician.get("/analysis/").content.decode()
    assert f'<option value="{unblinded.id}">' in page
    assert f'<option value="{made.snapshot_id}">' not in page and "No unblinded snapshot yet" not in page
