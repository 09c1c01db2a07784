"""One rule decides which ledger entries a user may read (``ledger.visibility``): entries revealing the
allocation are hidden from users without view-allocation on the audit page, its CSV download and blinded
ODM exports, and shown to unblinded users and the command line."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client

from enrolment_support import install, user
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.ledger.visibility import blinded, visible_entries

pytestmark = pytest.mark.django_db

#: (entity, new value) -> whether a blinded reader may see it
ENTRIES = [
    ("allocation", {"arm": "IMR"}, False),
    ("allocation-list", {"seed": 2011}, False),
    ("minimisation", {"totals": {"IMR": 3}}, False),
    ("unblinding-request", {"reason": "SAE"}, False),
    ("arm-letters", {"A": "TAU"}, False),
    ("imr-attendance", {"status": "present"}, False),
    ("imr-group", {"name": "Harbour circle"}, False),
    ("withdrawal", {"scope": "intervention", "withdrawn_on": "2011-05-01"}, False),
    ("withdrawal", {"scope": "data_collection", "withdrawn_on": "2011-05-01"}, True),
    ("assessment", {"panss": 61}, True),
    ("participant", {"status": "randomised"}, True),
]


@pytest.fixture
def ledger():
    install()
    context = Context(actor="setup", channel="command")
    with transaction.atomic():
        return {
            append(context, action="create", entity=entity, entity_id=str(n), new=new): shown
            for n, (entity, new, shown) in enumerate(ENTRIES)
        }


def _seqs(queryset) -> set[int]:
    return set(queryset.values_list("seq", flat=True))


def test_blinded_readers_see_only_entries_that_reveal_no_allocation(ledger):
    everything = LedgerEntry.objects.filter(seq__in=ledger)
    shown = {seq for seq, ok in ledger.items() if ok}
    manager = user("dana", "data_manager")
    assert _seqs(visible_entries(everything, manager)) == shown
    assert _seqs(blinded(everything)) == shown
    unblinded = user("ivan", "investigator", unblinded=True)
    assert _seqs(visible_entries(everything, unblinded)) == set(ledger)
    assert _seqs(visible_entries(everything, None)) == set(ledger)  # the command line's operator


def test_audit_page_and_csv_use_the_rule(ledger):
    client = Client()
    client.force_login(user("mona", "monitor"))
    page = client.get("/data/audit/").content.decode()
    csv = b"".join(client.get("/data/audit.csv").streaming_content).decode()
    for text in (page, csv):
        assert "data_collection" in text  # a withdrawal from data collection only is shown ...
        for hidden in ("imr-attendance", "imr-group", "arm-letters", "minimisation", '"intervention"'):
            assert hidden not in text.replace("&quot;", '"')  # ... the rest is not
    client.force_login(user("ivan", "investigator", unblinded=True))
    csv = b"".join(client.get("/data/audit.csv").streaming_content).decode()
    assert "imr-attendance" in csv and "minimisation" in csv
