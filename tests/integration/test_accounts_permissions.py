"""Roles, site scoping and the blinding rules of ``allowed``."""

import pytest
from django.contrib.auth import get_user_model

from trialdesk.apps.accounts.permissions import allowed, is_blinded, scope, sites_for
from trialdesk.apps.accounts.roles import (
    ACTIONS,
    PERSONAL_DATA_ACTIONS,
    ROLE_ACTIONS,
    UNBLINDED_ACTIONS,
    Role,
)
from trialdesk.apps.accounts.services import create_user, grant_role
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.trial.models import Site
from trialdesk.errors import UserError

pytestmark = pytest.mark.django_db
CTX = Context(actor="admin", channel="command")


@pytest.fixture
def sites():
    return (Site.objects.create(code="BAL", name="Ballerup", prefix="BAL"),
            Site.objects.create(code="FRB", name="Frederiksberg", prefix="FRB"))


def _user(name, role, site=None, **flags):
    user = create_user(name, "x", CTX, check_password=False)
    if flags.get("unblinded"):
        flags.setdefault("reason", "named unblinded for the test")
    grant_role(user, role, CTX, site=site, **flags)
    return get_user_model().objects.get(pk=user.pk)


class _AtSite:
    def __init__(self, site):
        self.site_id = site.id


def test_assessor_never_holds_an_action_that_reveals_allocation():
    assert "view-allocation" not in ROLE_ACTIONS[Role.ASSESSOR]
    assert "view-closed-report" not in ROLE_ACTIONS[Role.ASSESSOR]


def test_coordinator_is_scoped_to_their_site(sites):
    bal, frb = sites
    user = _user("signe", Role.COORDINATOR, bal)
    assert allowed(user, "randomise", _AtSite(bal))
    assert not allowed(user, "randomise", _AtSite(frb))
    assert sites_for(user, "screen") == {bal.id}
    assert list(scope(Site.objects.all(), user, "screen", site_field="id")) == [bal]


def test_trial_wide_roles_span_sites(sites):
    user = _user("dorte", Role.DATA_MANAGER)
    assert sites_for(user, "manage-queries") is None
    assert allowed(user, "lock-data", _AtSite(sites[1]))


def test_statistician_is_blinded_unless_named_unblinded(sites):
    blinded = _user("soren", Role.STATISTICIAN)
    unblinded = _user("lene", Role.STATISTICIAN, unblinded=True)
    assert is_blinded(blinded) and not is_blinded(unblinded)


def test_a_user_who_sees_arms_cannot_become_an_assessor(sites):
    user = _user("freja", Role.FACILITATOR, sites[0])
    with pytest.raises(UserError, match="cannot be a blinded assessor"):
        grant_role(user, Role.ASSESSOR, CTX, site=sites[0])


def test_an_assessor_cannot_take_a_role_that_sees_arms(sites):
    user = _user("anna", Role.ASSESSOR, sites[0])
    with pytest.raises(UserError, match="blinded assessor"):
        grant_role(user, Role.COORDINATOR, CTX, site=sites[0])
    with pytest.raises(UserError, match="cannot be named unblinded"):
        grant_role(user, Role.ASSESSOR, CTX, site=sites[1], unblinded=True)
    assert is_blinded(get_user_model().objects.get(pk=user.pk))


def test_personal_data_needs_the_flag(sites):
    plain = _user("mads", Role.COORDINATOR, sites[0])
    holder = _user("signe", Role.COORDINATOR, sites[0], personal_data=True)
    assert not allowed(plain, "view-personal-data", _AtSite(sites[0]))
    assert allowed(holder, "view-personal-data", _AtSite(sites[0]))


def test_role_grants_are_audited(sites):
    _user("anna", Role.ASSESSOR, sites[0])
    entry = LedgerEntry.objects.get(action="grant-role")
    assert entry.entity_id == "anna" and '"assessor"' in entry.new_value and entry.site == "BAL"


def test_unknown_action_is_a_programming_error(sites):
    user = _user("anna", Role.ASSESSOR, sites[0])
    with pytest.raises(ValueError, match="unknown action"):
        allowed(user, "peek")


def test_every_action_is_described_and_used():
    used = set().union(*ROLE_ACTIONS.values(), UNBLINDED_ACTIONS, PERSONAL_DATA_ACTIONS)
    assert used == set(ACTIONS)
