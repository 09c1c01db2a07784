"""The administrator's staff pages: adding an account with its first role, giving and taking away roles,
deactivating and reactivating, setting a password. Refusals are shown at their field and store nothing
(no account, no role, no ledger entry); other roles are refused with 403."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from api_support import Api, token_for
from enrolment_support import TEST_PASSWORD, install, user
from trialdesk.api.models import ApiToken
from trialdesk.apps.accounts.models import Membership
from trialdesk.apps.ledger.models import LedgerEntry

pytestmark = pytest.mark.django_db
GOOD_PASSWORD = "Lighthouse-Orchard-42"
User = get_user_model()


@pytest.fixture
def admin():
    install()
    return user("ada", "admin")


@pytest.fixture
def browser(admin):
    client = Client()
    client.force_login(admin)
    return client


def _add(browser, **fields):
    data = {"username": "nina", "full_name": "Nina Nurse", "email": "nina@example.org",
            "password": GOOD_PASSWORD, "password_again": GOOD_PASSWORD, "role": "coordinator", "site": "BAL",
            "reason": ""} | fields  # fmt: skip
    return browser.post(reverse("staff:add"), {k: v for k, v in data.items() if v is not None})


def _error_at(html: str, field: str) -> str:
    """The error text shown at ``field`` (its input marked invalid), or ""."""
    found = re.search(rf'id="id_{field}_error" class="error" role="alert">(.*?)</span>', html, re.S)
    if found is None:
        return ""
    assert re.search(rf'<(input|select|textarea)[^>]*aria-invalid="true"[^>]*id="id_{field}"'
                     rf'|<(input|select|textarea)[^>]*id="id_{field}"[^>]*aria-invalid="true"', html), field
    return found.group(1)


def test_an_administrator_adds_an_account_with_its_first_role(browser):
    before = LedgerEntry.objects.count()
    answer = _add(browser)
    nina = User.objects.get(username="nina")
    assert answer.status_code == 302 and answer["Location"] == reverse("staff:detail", args=[nina.pk])
    assert nina.is_active and nina.get_full_name() == "Nina Nurse" and nina.check_password(GOOD_PASSWORD)
    membership = Membership.objects.get(user=nina)
    assert (membership.role, membership.site.code, membership.unblinded) == ("coordinator", "BAL", False)
    entries = list(LedgerEntry.objects.filter(seq__gt=before).order_by("seq"))
    assert [(e.action, e.entity_id, e.actor, e.channel) for e in entries] == [
        ("create", "nina", "ada", "web"), ("grant-role", "nina", "ada", "web")]
    assert GOOD_PASSWORD not in "".join(e.new_value + e.old_value for e in entries)
    page = browser.get(answer["Location"]).content.decode()
    assert "nina can now log in." in page


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"password": "short", "password_again": "short"}, "password", "too short"),
    ({"username": "ninanurse", "password": "ninanurse1", "password_again": "ninanurse1"}, "password",
     "too similar"),
    ({"password_again": "something-else-42"}, "password_again", "the two passwords differ"),
    ({"site": ""}, "site", "held at one site"),
    ({"role": "statistician", "site": "", "unblinded": "on"}, "reason", "say why"),
    ({"unblinded": "on", "reason": "needs to see arms"}, "unblinded", "cannot be named unblinded"),
    ({"role": "assessor", "unblinded": "on", "reason": "x"}, "unblinded", "cannot be named unblinded"),
    ({"username": "ada"}, "username", "is taken"),
    ({"username": "no spaces please"}, "username", "letters, digits"),
    ({"email": "not-an-address"}, "email", "not an e-mail address"),
])
def test_refused_additions_are_shown_at_the_field_and_store_nothing(browser, fields, field, message):
    users, ledger, roles = User.objects.count(), LedgerEntry.objects.count(), Membership.objects.count()
    answer = _add(browser, **fields)
    assert answer.status_code == 400
    assert message in _error_at(answer.content.decode(), field)
    assert (User.objects.count(), LedgerEntry.objects.count(), Membership.objects.count()) == (
        users, ledger, roles)


def test_several_problems_are_shown_at_once(browser):
    answer = _add(browser, username="", password="123", password_again="123", site="")
    html = answer.content.decode()
    assert answer.status_code == 400
    assert _error_at(html, "username") and _error_at(html, "password") and _error_at(html, "site")


@pytest.mark.parametrize("role", ["coordinator", "data_manager", "statistician", "monitor", "assessor"])
def test_other_roles_are_refused_every_staff_page(admin, role):
    other = user("olga", role, "BAL" if role in ("coordinator", "assessor") else None)
    target = user("tom", "monitor")
    membership = Membership.objects.get(user=target)
    client = Client()
    client.force_login(other)
    ledger = LedgerEntry.objects.count()
    assert client.get(reverse("staff:list")).status_code == 403
    assert client.get(reverse("staff:add")).status_code == 403
    assert client.get(reverse("staff:detail", args=[target.pk])).status_code == 403
    posts = [
        (reverse("staff:add"), {"username": "x", "password": GOOD_PASSWORD, "password_again": GOOD_PASSWORD,
                                "role": "admin"}),
        (reverse("staff:grant", args=[target.pk]), {"grant-role": "admin"}),
        (reverse("staff:revoke", args=[membership.pk]), {f"revoke-{membership.pk}-reason": "because"}),
        (reverse("staff:activation", args=[target.pk]), {"activation-reason": "because"}),
        (reverse("staff:password", args=[target.pk]), {"password-password": GOOD_PASSWORD,
                                                       "password-password_again": GOOD_PASSWORD,
                                                       "password-reason": "because"}),
    ]  # fmt: skip
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert LedgerEntry.objects.count() == ledger
    assert not Membership.objects.filter(role="admin", user=target).exists() and User.objects.get(
        pk=target.pk).is_active
    assert client.get(reverse("home")).status_code == 200
    assert reverse("staff:list") not in client.get(reverse("home")).content.decode()


def test_the_list_shows_roles_sites_flags_and_two_factor(browser, admin):
    user("ivan", "investigator", unblinded=True)
    user("cora", "coordinator", "BAL", personal_data=True)
    gone = user("gus", "monitor")
    gone.is_active = False
    gone.save()
    html = browser.get(reverse("staff:list")).content.decode()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"<tr><td><a [^>]*>(\w+)</a>.*?</tr>", html, re.S)}
    assert set(rows) == {"ada", "ivan", "cora", "gus"}
    assert "Investigator · all sites" in rows["ivan"] and "unblinded" in rows["ivan"]
    assert "Site coordinator · BAL" in rows["cora"] and "key holder" in rows["cora"]
    assert 'tag bad">no<' in rows["gus"] and 'tag good">yes<' in rows["ada"]
    active = browser.get(reverse("staff:list"), {"status": "inactive"}).content.decode()
    assert ">gus<" in active and ">ada<" not in active
    monitors = browser.get(reverse("staff:list"), {"role": "investigator"}).content.decode()
    assert ">ivan<" in monitors and ">cora<" not in monitors


def test_the_admin_home_panel_links_to_the_staff_page(browser):
    html = browser.get(reverse("home")).content.decode()
    assert f'href="{reverse("staff:list")}"' in html
    assert "There is no page for managing staff" not in html


def test_roles_are_given_and_taken_away_with_reasons(browser, admin):
    target = user("tom", "monitor")
    url = reverse("staff:grant", args=[target.pk])
    ledger = LedgerEntry.objects.count()
    refused = browser.post(url, {"grant-role": "monitor", "grant-unblinded": "on"})
    assert refused.status_code == 400 and "say why" in _error_at(refused.content.decode(), "grant-reason")
    refused = browser.post(url, {"grant-role": "facilitator"})
    assert refused.status_code == 400
    assert "held at one site" in _error_at(refused.content.decode(), "grant-site")
    refused = browser.post(url, {"grant-role": "monitor"})
    assert refused.status_code == 400 and "already has" in _error_at(refused.content.decode(), "grant-role")
    assert LedgerEntry.objects.count() == ledger
    done = browser.post(url, {"grant-role": "monitor", "grant-site": "BAL", "grant-unblinded": "on",
                              "grant-reason": "DSMB closed session"})  # fmt: skip
    assert done.status_code == 302
    given = Membership.objects.get(user=target, site__code="BAL")
    assert given.unblinded
    entry = LedgerEntry.objects.get(action="grant-role", entity_id="tom", site="BAL")
    assert entry.reason == "DSMB closed session" and entry.actor == "ada"

    revoke = reverse("staff:revoke", args=[given.pk])
    refused = browser.post(revoke, {})
    assert refused.status_code == 400
    assert "say why" in _error_at(refused.content.decode(), f"revoke-{given.pk}-reason")
    assert Membership.objects.filter(pk=given.pk).exists()
    assert browser.post(revoke, {f"revoke-{given.pk}-reason": "DSMB meeting over"}).status_code == 302
    assert not Membership.objects.filter(pk=given.pk).exists()
    assert LedgerEntry.objects.get(action="revoke-role", entity_id="tom").reason == "DSMB meeting over"


def test_the_last_administrator_keeps_the_role(browser, admin):
    membership = Membership.objects.get(user=admin)
    url = reverse("staff:revoke", args=[membership.pk])
    answer = browser.post(url, {f"revoke-{membership.pk}-reason": "x"})
    assert answer.status_code == 400 and "last active administrator" in answer.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()
    answer = browser.post(reverse("staff:activation", args=[admin.pk]), {"activation-reason": "leaving"})
    assert answer.status_code == 400 and "your own account" in answer.content.decode()


def test_a_deactivated_account_cannot_log_in_nor_use_its_session_or_tokens(browser):
    nina = user("nina", "coordinator", "BAL")
    token = token_for(nina)
    assert Api(token=token).get("/api/me").status_code == 200
    session = Client()
    assert session.post(reverse("login"), {"username": "nina", "password": TEST_PASSWORD}).status_code == 302
    assert session.get(reverse("participants:list")).status_code == 200
    url = reverse("staff:activation", args=[nina.pk])

    ledger = LedgerEntry.objects.count()
    refused = browser.post(url, {})
    assert refused.status_code == 400
    assert "say why" in _error_at(refused.content.decode(), "activation-reason")
    assert LedgerEntry.objects.count() == ledger and User.objects.get(pk=nina.pk).is_active

    assert browser.post(url, {"activation-reason": "left the trial team"}).status_code == 302
    assert not User.objects.get(pk=nina.pk).is_active
    assert session.get(reverse("participants:list"))["Location"].startswith(reverse("login"))
    assert Api(token=token).get("/api/me").status_code == 401
    assert ApiToken.objects.get(user=nina).revoked_at is not None
    again = Client().post(reverse("login"), {"username": "nina", "password": TEST_PASSWORD})
    assert again.status_code == 200 and "_auth_user_id" not in again.client.session
    entry = LedgerEntry.objects.get(action="deactivate", entity_id="nina")
    assert (entry.actor, entry.reason, entry.field) == ("ada", "left the trial team", "is_active")
    assert LedgerEntry.objects.filter(action="revoke", entity="api-token").count() == 1

    assert browser.post(url, {"activation-reason": "back from leave"}).status_code == 302
    assert User.objects.get(pk=nina.pk).is_active
    assert LedgerEntry.objects.get(action="reactivate", entity_id="nina").reason == "back from leave"
    assert Client().post(reverse("login"), {"username": "nina", "password": TEST_PASSWORD}).status_code == 302
    assert Api(token=token).get("/api/me").status_code == 401  # revoked tokens stay revoked


def test_an_administrator_sets_a_password_under_the_policy(browser):
    nina = user("nina", "coordinator", "BAL")
    url = reverse("staff:password", args=[nina.pk])
    ledger = LedgerEntry.objects.count()
    weak = browser.post(url, {"password-password": "password1", "password-password_again": "password1",
                              "password-reason": "forgotten"})  # fmt: skip
    assert weak.status_code == 400 and "too common" in _error_at(weak.content.decode(), "password-password")
    unexplained = browser.post(url, {"password-password": GOOD_PASSWORD,
                                     "password-password_again": GOOD_PASSWORD})  # fmt: skip
    assert "say why" in _error_at(unexplained.content.decode(), "password-reason")
    assert LedgerEntry.objects.count() == ledger
    assert User.objects.get(pk=nina.pk).check_password(TEST_PASSWORD)
    done = browser.post(url, {"password-password": GOOD_PASSWORD, "password-password_again": GOOD_PASSWORD,
                              "password-reason": "forgotten"})  # fmt: skip
    assert done.status_code == 302
    assert Client().post(reverse("login"), {"username": "nina", "password": GOOD_PASSWORD}).status_code == 302
    entry = LedgerEntry.objects.get(action="set-password", entity_id="nina")
    assert entry.reason == "forgotten" and GOOD_PASSWORD not in entry.new_value + entry.old_value


def test_a_name_and_e_mail_address_are_corrected_with_the_old_values_kept(browser):
    nina = user("nina", "coordinator", "BAL")
    nina.first_name, nina.email = "Nena", "nina@old.example.org"
    nina.save()
    page = browser.get(reverse("staff:detail", args=[nina.pk])).content.decode()
    assert 'value="nina@old.example.org"' in page  # the form starts from the stored values
    url = reverse("staff:details", args=[nina.pk])
    ledger = LedgerEntry.objects.count()
    refused = browser.post(url, {"details-full_name": "Nina Nurse", "details-email": "not an address"})
    assert refused.status_code == 400
    assert "not an e-mail address" in _error_at(refused.content.decode(), "details-email")
    unchanged = browser.post(url, {"details-full_name": "Nena", "details-email": "nina@old.example.org"})
    assert unchanged.status_code == 400 and "nothing to change" in unchanged.content.decode()
    assert LedgerEntry.objects.count() == ledger
    assert (User.objects.get(pk=nina.pk).first_name, User.objects.get(pk=nina.pk).email) == (
        "Nena", "nina@old.example.org")

    done = browser.post(url, {"details-full_name": " Nina Nurse ", "details-email": "nina@new.example.org",
                              "details-reason": "misspelt at creation"})  # fmt: skip
    assert done.status_code == 302
    saved = User.objects.get(pk=nina.pk)
    assert (saved.get_full_name(), saved.email) == ("Nina Nurse", "nina@new.example.org")
    entry = LedgerEntry.objects.get(action="update", entity="user", entity_id="nina")
    assert json.loads(entry.old_value) == {"full_name": "Nena", "email": "nina@old.example.org"}
    assert json.loads(entry.new_value) == {"full_name": "Nina Nurse", "email": "nina@new.example.org"}
    assert (entry.actor, entry.reason) == ("ada", "misspelt at creation")
