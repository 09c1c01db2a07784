"""Participants: trial ids, the encrypted key table, CPR rules and the status pipeline."""

import datetime as dt

import pytest
from django.db import connection

from enrolment_support import TEST_KEY, install, new_cpr, person, screen, site
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.participants import cpr, keys
from trialdesk.apps.participants.models import Participant, PersonalData, StatusEvent
from trialdesk.apps.participants.services import (
    PersonalDetails,
    change_personal_data,
    find_by_cpr,
    read_personal_data,
    transition,
)
from trialdesk.apps.participants.status import TRANSITIONS, State
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]


@pytest.fixture
def ctx():
    return install()


@pytest.mark.parametrize(
    ("number", "born"),
    [
        ("010180-1234", dt.date(1980, 1, 1)),  # 7th digit 1: 1900s
        ("2902004321", dt.date(2000, 2, 29)),  # 7th digit 4, year 00-36: 2000s (leap day)
        ("150558-5000", dt.date(1858, 5, 15)),  # 7th digit 5, year 58-99: 1800s
        ("150557-5000", dt.date(2057, 5, 15)),  # 7th digit 5, year 00-57: 2000s
        ("311299-9999", dt.date(1999, 12, 31)),  # 7th digit 9, year 37-99: 1900s
        ("010136-9000", dt.date(2036, 1, 1)),  # 7th digit 9, year 00-36: 2000s
        ("010137-4000", dt.date(1937, 1, 1)),  # 7th digit 4, year 37-99: 1900s
    ],
)
def test_cpr_century_follows_the_cpr_office_table(number, born):
    assert cpr.birth_date(number) == born


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("3002801234", "real birth date"),  # 30 February
        ("010180-123", "10 digits"),
        ("01018O-1234", "10 digits"),
        ("290201-1234", "real birth date"),  # 1901 was no leap year
    ],
)
def test_invalid_cpr_is_refused_without_echoing_it(number, problem):
    with pytest.raises(UserError, match=problem) as refused:
        cpr.validate(number)
    assert number not in str(refused.value)
    assert number.replace("-", "") not in str(refused.value)


def test_modulus_11_is_not_required():
    # 010180-1235 fails the old modulus-11 check; the CPR office issues such numbers since 2007.
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    digits = [int(d) for d in "0101801235"]
    assert sum(w * d for w, d in zip(weights, digits, strict=True)) % 11 != 0
    assert cpr.validate("0101801235") == "010180-1235"


def test_trial_ids_are_site_prefix_and_running_number(ctx):
    first = screen(ctx, "BAL").participant
    second = screen(ctx, "BAL").participant
    other = screen(ctx, "FRB").participant
    assert (first.trial_id, second.trial_id, other.trial_id) == ("BAL-0001", "BAL-0002", "FRB-0001")


def test_personal_data_is_encrypted_at_rest_and_found_by_fingerprint(ctx):
    number = new_cpr()
    from enrolment_support import SCREENED_ON, answers
    from trialdesk.apps.screening.services import screen as do_screen

    screening = do_screen(
        site(),
        screened_on=SCREENED_ON,
        referral_source="gp",
        answers=answers(),
        person=PersonalDetails(cpr=number, name="Karen Blixen", contact="karen@example.org"),
        context=ctx,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cpr_encrypted, name_encrypted, contact_encrypted, cpr_fingerprint "
            "FROM participants_personaldata"
        )
        stored = " ".join(cursor.fetchone())
    assert number not in stored
    assert number.replace("-", "") not in stored
    assert "Blixen" not in stored
    assert find_by_cpr(number.replace("-", "")) == screening.participant
    details = read_personal_data(screening.participant, ctx)
    assert (details.cpr, details.name, details.contact) == (number, "Karen Blixen", "karen@example.org")
    assert "Blixen" not in repr(details)


def test_ledger_never_holds_personal_values(ctx):
    number = new_cpr()
    participant = screen(ctx).participant
    change_personal_data(participant, PersonalDetails(cpr=number, name="Ny Navnesen"), ctx, reason="typo")
    text = " ".join(f"{e.old_value} {e.new_value} {e.reason}" for e in LedgerEntry.objects.all())
    assert "Navnesen" not in text
    assert number not in text
    assert "Test Person" not in text
    assert LedgerEntry.objects.filter(
        entity="personal-data", action="update", new_value='"personal data changed"'
    ).exists()


def test_missing_key_is_a_clear_error(ctx, monkeypatch):
    monkeypatch.delenv(keys.ENV_KEY)
    monkeypatch.delenv(keys.ENV_KEY_FILE, raising=False)
    with pytest.raises(UserError, match="TRIALDESK_PERSONAL_DATA_KEY"):
        screen(ctx)
    assert Participant.objects.count() == 0


def test_key_can_come_from_a_file(ctx, monkeypatch, tmp_path):
    key_file = tmp_path / "personal.key"
    key_file.write_text(TEST_KEY + "\n")
    monkeypatch.delenv(keys.ENV_KEY)
    monkeypatch.setenv(keys.ENV_KEY_FILE, str(key_file))
    participant = screen(ctx).participant
    assert read_personal_data(participant, ctx).name == "Test Person"


def test_wrong_key_cannot_read(ctx, monkeypatch):
    from cryptography.fernet import Fernet

    participant = screen(ctx).participant
    monkeypatch.setenv(keys.ENV_KEY, Fernet.generate_key().decode())
    with pytest.raises(UserError, match="cannot be decrypted"):
        read_personal_data(participant, ctx)


def test_duplicate_person_is_refused_and_nothing_stored(ctx):
    number = new_cpr()
    from enrolment_support import SCREENED_ON, answers
    from trialdesk.apps.screening.services import screen as do_screen

    first = do_screen(
        site(),
        screened_on=SCREENED_ON,
        referral_source="gp",
        answers=answers(),
        person=person(number),
        context=ctx,
    )
    counts = (Participant.objects.count(), PersonalData.objects.count(), LedgerEntry.objects.count())
    with pytest.raises(UserError, match=f"already registered in the trial as {first.participant.trial_id}"):
        do_screen(
            site("FRB"),
            screened_on=SCREENED_ON,
            referral_source="gp",
            answers=answers(),
            person=person(number.replace("-", "")),
            context=ctx,
        )
    assert (Participant.objects.count(), PersonalData.objects.count(), LedgerEntry.objects.count()) == counts


def test_transition_table_is_enforced_naming_both_states(ctx):
    participant = screen(ctx).participant
    assert participant.state is State.ELIGIBLE
    with pytest.raises(UserError, match="cannot move from eligible to randomised"):
        transition(participant, State.RANDOMISED, ctx)
    participant.refresh_from_db()
    assert participant.state is State.ELIGIBLE


def test_every_transition_writes_an_event_and_the_ledger(ctx):
    participant = screen(ctx).participant
    events = list(StatusEvent.objects.filter(participant=participant).values_list("from_state", "to_state"))
    assert events == [("", "screened"), ("screened", "eligible")]
    ledger = LedgerEntry.objects.filter(action="transition", participant=participant.trial_id)
    assert [(e.old_value, e.new_value) for e in ledger] == [('"screened"', '"eligible"')]


def test_final_states_allow_nothing_and_ending_needs_a_reason(ctx):
    for state in (State.COMPLETED, State.WITHDRAWN, State.DIED, State.DECLINED):
        assert TRANSITIONS[state] == frozenset()
    participant = screen(ctx).participant
    with pytest.raises(UserError, match="reason is required"):
        transition(participant, State.DIED, ctx)
    transition(participant, State.DIED, ctx, reason="reported by the CMHC")
    with pytest.raises(UserError, match="from died to"):
        transition(participant, State.ELIGIBLE, ctx)
