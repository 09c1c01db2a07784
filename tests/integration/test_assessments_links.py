"""One-time self-report links: issued for open self-report forms, stored hashed, single use, expiring."""

import datetime as dt
import hashlib

import pytest

from assessments_support import BASELINE_ON, complete, consented, extreme_values
from enrolment_support import install
from trialdesk import clock
from trialdesk.apps.assessments import services
from trialdesk.apps.assessments.models import Assessment, SelfReportLink
from trialdesk.apps.assessments.services.links import forms_left
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.participants.problems import InputError
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]
SELF_REPORT_AT_BASELINE = ["audit", "dudit", "mhrm", "ashs", "imrs_client"]
ISSUED_AT = dt.datetime(2011, 3, 10, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def ctx():
    return install()


@pytest.fixture
def person(ctx):
    participant = consented(ctx)
    complete(participant, "baseline", "gaf_f", ctx, BASELINE_ON)
    return participant


def _issue(participant, ctx, instruments=None, **kwargs):
    with clock.frozen(ISSUED_AT):
        return services.issue(participant, "baseline", instruments, ctx, **kwargs)


def test_a_link_covers_the_open_self_report_forms_and_stores_only_a_hash(person, ctx):
    link, token = _issue(person, ctx)
    assert link.instruments == SELF_REPORT_AT_BASELINE
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert not SelfReportLink.objects.filter(token_hash=token).exists()
    assert token not in LedgerEntry.objects.get(entity="self-report-link").new_value
    assert link.expires_at == ISSUED_AT + dt.timedelta(days=7)


def test_only_self_report_instruments_can_be_sent(person, ctx):
    with pytest.raises(InputError) as refused:
        _issue(person, ctx, ["audit", "panss"])
    assert "panss cannot be self-reported at Baseline" in refused.value.fields["instruments"]
    with pytest.raises(InputError, match="at most 30 days"):
        _issue(person, ctx, valid_for=dt.timedelta(days=31))
    assert not SelfReportLink.objects.exists()


def test_submitting_every_form_uses_the_link_up(person, ctx):
    link, token = _issue(person, ctx, ["audit", "ashs"])
    with clock.frozen(ISSUED_AT + dt.timedelta(hours=2)):
        first = services.submit(token, "audit", extreme_values("audit"))
        assert (first.status, first.source, first.link_id) == ("complete", "link", link.pk)
        assert first.entered_by == f"self-report-link:{link.pk}"
        assert first.assessed_on == dt.date(2011, 3, 10)
        assert services.resolve(token).used_at is None
        services.submit(token, "ashs", extreme_values("ashs"))
        with pytest.raises(services.LinkRefusedError) as refused:
            services.resolve(token)
        assert refused.value.kind == "used"
        with pytest.raises(services.LinkRefusedError, match="already been used"):
            services.submit(token, "ashs", extreme_values("ashs"))
    assert Assessment.objects.filter(source="link").count() == 2


def test_a_refused_submission_stores_nothing_and_the_link_still_works(person, ctx):
    _, token = _issue(person, ctx, ["audit"])
    values = {**extreme_values("audit"), "10": 3}
    with clock.frozen(ISSUED_AT), pytest.raises(InputError) as refused:
        services.submit(token, "audit", values)
    assert refused.value.fields["item_10"] == "audit item 10: 3 is not allowed; allowed values are 0, 2, 4"
    assert not Assessment.objects.filter(instrument="audit").exists()
    with clock.frozen(ISSUED_AT):
        assert services.resolve(token).used_at is None


def test_an_expired_link_refuses_everything(person, ctx):
    _, token = _issue(person, ctx, valid_for=dt.timedelta(days=1))
    with clock.frozen(ISSUED_AT + dt.timedelta(days=1)):
        with pytest.raises(services.LinkRefusedError) as refused:
            services.submit(token, "audit", extreme_values("audit"))
        assert refused.value.kind == "expired"
    assert not Assessment.objects.filter(instrument="audit").exists()


def test_unknown_tokens_and_closed_forms_are_refused(person, ctx):
    with pytest.raises(services.LinkRefusedError) as refused:
        services.resolve("not-a-token")
    assert refused.value.kind == "unknown"
    link, token = _issue(person, ctx, ["audit", "dudit"])
    complete(person, "baseline", "dudit", ctx, BASELINE_ON)  # entered by staff from paper meanwhile
    assert forms_left(link) == ["audit"]
    with clock.frozen(ISSUED_AT), pytest.raises(UserError, match="not open on this link"):
        services.submit(token, "dudit", extreme_values("dudit"))


def test_finish_closes_the_link_with_forms_left(person, ctx):
    _, token = _issue(person, ctx)
    with clock.frozen(ISSUED_AT):
        services.finish(token)
        with pytest.raises(services.LinkRefusedError, match="already been used"):
            services.resolve(token)
    assert LedgerEntry.objects.filter(action="use-link").count() == 1


def test_no_link_when_nothing_is_open(person, ctx):
    for code in SELF_REPORT_AT_BASELINE:
        complete(person, "baseline", code, ctx, BASELINE_ON)
    with pytest.raises(InputError, match="no open self-report form"):
        _issue(person, ctx)
