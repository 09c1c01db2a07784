"""Status words shown in the interface, marked for the Danish catalogue.

The states (participants.status.State) and form statuses are data: their values and English labels stay as
they are in the database, ledger, exports and error messages. Templates show them with
``{% translate participant.state.label %}``; this list puts those words in the catalogue, since a message
extractor cannot see labels built from enum values.
"""

from django.utils.translation import gettext_noop

STATE_LABELS = (
    gettext_noop("screened"),
    gettext_noop("eligible"),
    gettext_noop("ineligible"),
    gettext_noop("declined"),
    gettext_noop("consented"),
    gettext_noop("baseline complete"),
    gettext_noop("randomised"),
    gettext_noop("in follow up"),
    gettext_noop("completed"),
    gettext_noop("withdrawn"),
    gettext_noop("lost to follow up"),
    gettext_noop("died"),
)
FORM_STATUS_LABELS = (
    gettext_noop("missing"),
    gettext_noop("draft"),
    gettext_noop("complete"),
    gettext_noop("not done"),
)
