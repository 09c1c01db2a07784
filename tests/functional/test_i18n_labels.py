"""Every participant state and form status the interface shows has a Danish word in the catalogue."""

from trialdesk.apps.assessments.models import Assessment
from trialdesk.apps.participants.labels import FORM_STATUS_LABELS, STATE_LABELS
from trialdesk.apps.participants.status import State


def test_every_state_label_is_listed_for_translation():
    assert {state.label for state in State} == set(STATE_LABELS)


def test_every_form_status_is_listed_for_translation():
    assert {label for _, label in Assessment.STATUSES} <= set(FORM_STATUS_LABELS)
