"""Every write channel that exists today demands a reason to change entered data and cannot change locked
data: the web form, the register import (web upload and ``trialdesk register import``), and service calls
made under the command and API channels (the REST API itself does not exist yet: src/trialdesk/api is
empty, so its test is the channel-independent service refusal below).

Register imports never change stored data — an event already stored is reported as present and kept —
so the import channel has no "change without a reason" to refuse; it is tested for locks.
"""

import pytest

from assessments_html import text
from assessments_support import complete, consented
from datamanagement_support import BASELINE_ON, install
from enrolment_support import user
from registers_support import csv_bytes, keeper, row_counts, upload_and_run
from trialdesk.apps.assessments import services as assessments
from trialdesk.apps.assessments.models import Assessment
from trialdesk.apps.datamanagement import locks
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.problems import InputError
from trialdesk.apps.participants.services import read_personal_data
from trialdesk.cli import main
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def rated(ctx):
    participant = consented(ctx)
    complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON, values={"rating": 45})
    return participant


def _rating() -> int:
    return Assessment.objects.get(instrument="gaf_f").values()["rating"]


def _post(rating: int, **extra) -> dict:
    return {"assessed_on": BASELINE_ON.isoformat(), "action": "complete", "item_rating": rating, **extra}


def _lock_participant(participant):
    locks.lock(
        "participant",
        Context(actor="dana", channel="web"),
        user=user("dana", "data_manager"),
        reason="casebook signed",
        participant=participant,
    )


def test_web_form_refuses_a_change_without_a_reason_at_its_field(client, rated):
    client.force_login(user("anna", "assessor", "BAL"))
    url = f"/assessments/p/{rated.trial_id}/baseline/gaf_f/"
    before = LedgerEntry.objects.count()
    response = client.post(url, _post(54))
    assert response.status_code == 400
    assert (
        'role="alert">a reason is required to change a completed or not-done form'
        in response.content.decode()
    )
    assert (_rating(), LedgerEntry.objects.count()) == (45, before)


def test_web_form_cannot_change_a_locked_form(client, rated):
    client.force_login(user("anna", "assessor", "BAL"))
    _lock_participant(rated)
    before = LedgerEntry.objects.count()
    response = client.post(f"/assessments/p/{rated.trial_id}/baseline/gaf_f/", _post(54, reason="typo"))
    assert response.status_code == 400
    assert f"locked: participant {rated.trial_id} was locked by dana" in text(response.content.decode())
    assert (_rating(), LedgerEntry.objects.count()) == (45, before)


@pytest.mark.parametrize("channel", ["web", "import", "command", "api"])
def test_every_channel_is_refused_a_change_without_a_reason_and_a_change_to_locked_data(ctx, rated, channel):
    acting = Context(actor="anna", channel=channel, protocol_hash=ctx.protocol_hash)
    with pytest.raises(InputError) as refused:
        assessments.save(
            rated, "baseline", "gaf_f", {"rating": 54}, assessed_on=BASELINE_ON, context=acting, complete=True
        )
    assert set(refused.value.fields) == {"reason"}
    _lock_participant(rated)
    with pytest.raises(UserError, match=r"^locked: participant"):
        assessments.save(
            rated,
            "baseline",
            "gaf_f",
            {"rating": 54},
            assessed_on=BASELINE_ON,
            context=acting,
            complete=True,
            reason="typo",
        )
    assert _rating() == 45


@pytest.fixture
def extract(ctx, rated):
    from trialdesk.apps.participants.services import transition
    from trialdesk.apps.participants.status import State

    transition(rated, State.BASELINE_COMPLETE, ctx)
    cpr = read_personal_data(rated, ctx).cpr
    return csv_bytes([(cpr, "admission", "2011-12-05", "2011-12-15")])


def test_register_upload_cannot_add_to_a_locked_participant(client, rated, extract):
    client.force_login(keeper())
    _lock_participant(rated)
    before = row_counts()
    job_page = upload_and_run(client, extract)  # the upload's background job, run here
    assert '<dd id="status">failed</dd>' in job_page.content.decode()
    assert f"locked: participant {rated.trial_id}" in text(job_page.content.decode())
    assert row_counts() == before


def test_register_command_cannot_add_to_locked_data(rated, extract, tmp_path, capsys):
    keeper()
    locks.lock(
        "database",
        Context(actor="dana", channel="command"),
        user=user("dana", "data_manager"),
        reason="final lock",
    )
    path = tmp_path / "extract.csv"
    path.write_bytes(extract)
    before = row_counts()
    assert main(["register", "import", str(path), "--user", "keeper"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: locked: the whole database was locked by dana")
    assert row_counts() == before


def test_unlocked_again_the_same_import_goes_through(rated, extract, tmp_path):
    keeper()
    dana, dmitri = user("dana", "data_manager"), user("dmitri", "data_manager")
    acting = Context(actor="dana", channel="web")
    made = locks.lock("participant", acting, user=dana, reason="clean", participant=rated)
    request = locks.request_unlock(made, acting, user=dana, reason="late register extract")
    from enrolment_support import TEST_PASSWORD

    locks.decide_unlock(
        request, Context(actor="dmitri", channel="web"), user=dmitri, password=TEST_PASSWORD, approve=True
    )
    path = tmp_path / "extract.csv"
    path.write_bytes(extract)
    assert main(["register", "import", str(path), "--user", "keeper"]) == 0
    assert row_counts()["events"] == 1
