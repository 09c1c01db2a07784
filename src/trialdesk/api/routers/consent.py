"""Consent, declines and withdrawals of one participant."""

import datetime as dt

from ninja import Field, Header, Path, Schema

from trialdesk.apps.consent import services

from ..idempotency import HEADER, replay_or_run
from ..registry import Routes, Rule, participant_for
from .common import TRIAL_ID, context_for, respond

routes = Routes("/participants/{trial_id}", "consent")
TrialId = Path(..., pattern=TRIAL_ID)
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2100, 12, 31)
CONSENT = Rule("participant", ("consent",))


class ConsentIn(Schema):
    version: str = Field(..., max_length=40, description="consent document version from the protocol")
    oral_on: dt.date | None = Field(None, ge=EARLIEST, le=LATEST)
    written_on: dt.date | None = Field(None, ge=EARLIEST, le=LATEST)
    taken_by: str = Field(..., max_length=150)


class ConsentOut(Schema):
    id: int
    version: str
    oral_on: dt.date | None
    written_on: dt.date | None
    taken_by: str
    recorded_at: dt.datetime


class DeclineIn(Schema):
    category: str = Field(..., max_length=40)
    declined_on: dt.date = Field(..., ge=EARLIEST, le=LATEST)
    note: str = Field("", max_length=2000)


class DeclineOut(Schema):
    category: str
    declined_on: dt.date
    note: str


class WithdrawalIn(Schema):
    scope: str = Field(..., max_length=40, description="withdrawal scope code from the protocol")
    withdrawn_on: dt.date = Field(..., ge=EARLIEST, le=LATEST)
    reason: str = Field("", max_length=2000)


class WithdrawalOut(Schema):
    id: int
    scope: str
    withdrawn_on: dt.date
    reason: str


class ConsentState(Schema):
    trial_id: str
    status: str
    consents: list[ConsentOut]
    withdrawals: list[WithdrawalOut]


def consent_out(record) -> ConsentOut:
    return ConsentOut(id=record.pk, version=record.document_version, oral_on=record.oral_on,
                      written_on=record.written_on, taken_by=record.taken_by,
                      recorded_at=record.recorded_at)  # fmt: skip


def withdrawal_out(row) -> WithdrawalOut:
    return WithdrawalOut(id=row.pk, scope=row.scope, withdrawn_on=row.withdrawn_on, reason=row.reason)



@routes.get("/consent", rule=CONSENT, response=ConsentState)
def consent_state(request, trial_id: str = TrialId):
    """Consent records and withdrawals (shown only to those who record consent: a withdrawal from the
    intervention alone would tell a blinded reader the arm)."""
    participant = participant_for(request, trial_id)
    return ConsentState(trial_id=participant.trial_id, status=participant.status,
                        consents=[consent_out(c) for c in participant.consents.all()],
                        withdrawals=[withdrawal_out(w) for w in participant.withdrawals.all()])  # fmt: skip


@routes.post("/consents", rule=CONSENT, response=ConsentOut)
def record_consent(request, payload: ConsentIn, trial_id: str = TrialId,
                   idempotency_key: str | None = Header(None, alias=HEADER)):  # fmt: skip
    """Record consent to a document version; the first consent moves an eligible person to consented."""
    participant = participant_for(request, trial_id)

    def work():
        record = services.record_consent(participant, version=payload.version, oral_on=payload.oral_on,
                                         written_on=payload.written_on, taken_by=payload.taken_by,
                                         context=context_for(request))  # fmt: skip
        return 201, consent_out(record).model_dump(mode="json")

    return respond(*replay_or_run(request, idempotency_key, work))


@routes.post("/decline", rule=CONSENT, response=DeclineOut)
def record_decline(request, payload: DeclineIn, trial_id: str = TrialId,
                   idempotency_key: str | None = Header(None, alias=HEADER)):  # fmt: skip
    """An eligible person declined to take part, for one of the protocol's reason categories."""
    participant = participant_for(request, trial_id)

    def work():
        row = services.record_decline(participant, category=payload.category, declined_on=payload.declined_on,
                                      note=payload.note, context=context_for(request))  # fmt: skip
        return 201, DeclineOut(category=row.category, declined_on=row.declined_on,
                               note=row.note).model_dump(mode="json")  # fmt: skip

    return respond(*replay_or_run(request, idempotency_key, work))


@routes.post("/withdrawals", rule=CONSENT, response=WithdrawalOut)
def record_withdrawal(request, payload: WithdrawalIn, trial_id: str = TrialId,
                      idempotency_key: str | None = Header(None, alias=HEADER)):  # fmt: skip
    """Record a withdrawal; scopes that end participation also move the participant to withdrawn."""
    participant = participant_for(request, trial_id)

    def work():
        row = services.record_withdrawal(participant, withdrawn_on=payload.withdrawn_on, scope=payload.scope,
                                         reason=payload.reason, context=context_for(request))  # fmt: skip
        return 201, withdrawal_out(row).model_dump(mode="json")

    return respond(*replay_or_run(request, idempotency_key, work))
