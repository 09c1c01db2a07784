"""``trialdesk staff``: the same services as the web pages, as a named administrator or the operating-system
user; refusals are one line with exit status 2 and store nothing; the first administrator of an empty
database."""

import getpass
import json

import pytest
from django.contrib.auth import get_user_model

from enrolment_support import install, user
from trialdesk.apps.accounts.models import Membership
from trialdesk.apps.accounts.services import (
    add_staff,
    deactivate_user,
    grant_role,
    reactivate_user,
    revoke_role,
    set_password,
)
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.problems import InputError
from trialdesk.cli import main
from trialdesk.errors import UserError

pytestmark = pytest.mark.django_db
GOOD_PASSWORD = "Lighthouse-Orchard-42"
CTX = Context(actor="ada", channel="command")
User = get_user_model()


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password"
    path.write_text(GOOD_PASSWORD + "\n")
    return path


def _counts():
    return User.objects.count(), Membership.objects.count(), LedgerEntry.objects.count()


def test_the_first_administrator_of_an_empty_database(password_file, capsys):
    assert User.objects.count() == 0
    assert main(["staff", "add", "ada", "--role", "admin", "--full-name", "Ada Admin",
                 "--password-file", str(password_file)]) == 0  # fmt: skip
    assert "ada added as admin at all sites" in capsys.readouterr().out
    ada = User.objects.get(username="ada")
    assert ada.check_password(GOOD_PASSWORD) and Membership.objects.get(user=ada).role == "admin"
    actors = set(LedgerEntry.objects.values_list("actor", "channel"))
    assert actors == {(getpass.getuser(), "command")}


def test_the_password_is_prompted_for_when_no_file_is_given(monkeypatch, capsys):
    answers = iter([GOOD_PASSWORD, GOOD_PASSWORD])
    monkeypatch.setattr("click.termui.visible_prompt_func", lambda _prompt: next(answers))
    monkeypatch.setattr("click.termui.hidden_prompt_func", lambda _prompt: next(answers))
    assert main(["staff", "add", "ada", "--role", "admin"]) == 0
    assert User.objects.get(username="ada").check_password(GOOD_PASSWORD)


def test_add_grant_revoke_deactivate_activate_as_a_named_administrator(password_file, capsys):
    install()
    user("ada", "admin")
    assert main(["staff", "add", "nina", "--role", "coordinator", "--site", "BAL", "--as", "ada",
                 "--password-file", str(password_file), "--json"]) == 0  # fmt: skip
    added = json.loads(capsys.readouterr().out)
    assert added["roles"] == [
        {"role": "coordinator", "site": "BAL", "unblinded": False, "personal_data": False}]
    assert main(["staff", "grant", "nina", "coordinator", "--site", "FRB", "--as", "ada"]) == 0
    assert main(["staff", "revoke", "nina", "coordinator", "--site", "BAL", "--reason", "moved to FRB",
                 "--as", "ada"]) == 0  # fmt: skip
    assert [m.site.code for m in Membership.objects.filter(user__username="nina")] == ["FRB"]
    assert main(["staff", "deactivate", "nina", "--reason", "on leave", "--as", "ada"]) == 0
    assert not User.objects.get(username="nina").is_active
    assert main(["staff", "activate", "nina", "--reason", "back", "--as", "ada"]) == 0
    assert User.objects.get(username="nina").is_active
    capsys.readouterr()
    assert main(["staff", "list", "--json"]) == 0
    listed = {row["username"]: row for row in json.loads(capsys.readouterr().out)}
    assert listed["nina"]["active"] and listed["nina"]["roles"][0]["site"] == "FRB"
    entries = LedgerEntry.objects.filter(entity_id="nina").order_by("seq")
    assert [(e.action, e.actor, e.reason) for e in entries] == [
        ("create", "ada", ""), ("grant-role", "ada", ""), ("grant-role", "ada", ""),
        ("revoke-role", "ada", "moved to FRB"), ("deactivate", "ada", "on leave"),
        ("reactivate", "ada", "back"),
    ]
    assert main(["staff", "list"]) == 0
    assert "nina  active  no-2fa  coordinator@FRB" in capsys.readouterr().out


@pytest.mark.parametrize(("arguments", "message"), [
    (["add", "nina", "--role", "coordinator"], "site: the Site coordinator role is held at one site"),
    (["add", "nina", "--role", "monitor", "--unblinded"], "reason: say why"),
    (["add", "nina", "--role", "facilitator", "--site", "BAL", "--unblinded", "--reason", "x"],
     "cannot be named unblinded"),
    (["add", "ada", "--role", "monitor"], "username: username 'ada' is taken"),
    (["add", "nina", "--role", "coordinator", "--site", "XYZ"], "no site 'XYZ'"),
    (["add", "nina", "--role", "monitor", "--as", "mona"], "mona is not an active administrator"),
    (["grant", "mona", "assessor", "--site", "BAL", "--as", "ada"], "cannot be a blinded assessor"),
    (["grant", "mona", "coordinator", "--as", "ada"], "held at one site"),
    (["grant", "ghost", "monitor", "--as", "ada"], "no user named 'ghost'"),
    (["revoke", "mona", "monitor", "--site", "BAL", "--reason", "x"], "mona has no monitor role at BAL"),
    (["revoke", "ada", "admin", "--reason", "x"], "last active administrator"),
    (["deactivate", "ada", "--reason", "x", "--as", "ada"], "cannot deactivate your own account"),
    (["deactivate", "mona", "--reason", " "], "reason: say why"),
    (["activate", "mona", "--reason", "x"], "mona is already active"),
    (["details", "mona", "--email", "mona at example"], "email: not an e-mail address"),
    (["details", "mona"], "nothing to change"),
])
def test_refusals_are_one_line_with_exit_status_2_and_store_nothing(password_file, capsys, arguments,
                                                                     message):
    install()
    user("ada", "admin")
    user("mona", "monitor", unblinded=True)
    before = _counts()
    capsys.readouterr()
    if arguments[0] == "add":
        arguments = [*arguments, "--password-file", str(password_file)]
    assert main(["staff", *arguments]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert _counts() == before


def test_a_weak_password_is_refused_by_the_policy(tmp_path, capsys):
    weak = tmp_path / "weak"
    weak.write_text("12345678901\n")
    assert main(["staff", "add", "ada", "--role", "admin", "--password-file", str(weak)]) == 2
    err = capsys.readouterr().err
    assert "password: This password is too common." in err and "entirely numeric" in err
    assert _counts() == (0, 0, 0)


def test_the_password_command_sets_a_password_under_the_policy(password_file, tmp_path, capsys):
    install()
    user("ada", "admin")
    nina = user("nina", "coordinator", "BAL")
    weak = tmp_path / "weak"
    weak.write_text("nina\n")
    assert main(["staff", "password", "nina", "--password-file", str(weak), "--reason", "forgot"]) == 2
    assert "too short" in capsys.readouterr().err
    assert main(["staff", "password", "nina", "--password-file", str(password_file), "--reason", "forgot",
                 "--as", "ada"]) == 0  # fmt: skip
    assert User.objects.get(pk=nina.pk).check_password(GOOD_PASSWORD)
    assert LedgerEntry.objects.get(action="set-password").reason == "forgot"


# -- the services directly -------------------------------------------------------------------------------


def test_add_staff_is_all_or_nothing():
    install()
    before = _counts()
    with pytest.raises(InputError) as refused:
        add_staff("nina", "x", CTX, role="coordinator")
    assert set(refused.value.fields) == {"password", "site"}
    assert _counts() == before


def test_unblinding_needs_a_reason_and_a_role_that_may_be_unblinded():
    install()
    mona = user("mona", "monitor")
    before = _counts()
    with pytest.raises(InputError) as refused:
        grant_role(mona, "investigator", CTX, unblinded=True)
    assert refused.value.fields == {"reason": "say why this member is named unblinded"}
    with pytest.raises(InputError, match="cannot be named unblinded"):
        grant_role(mona, "admin", CTX, unblinded=True, reason="why not")
    assert _counts() == before
    grant_role(mona, "investigator", CTX, unblinded=True, reason="DSMB")
    assert LedgerEntry.objects.filter(action="grant-role").last().reason == "DSMB"


def test_deactivation_revokes_tokens_and_reactivation_keeps_them_revoked():
    from api_support import token_for
    from trialdesk.api.tokens import user_for

    install()
    user("ada", "admin")
    nina = user("nina", "coordinator", "BAL")
    token = token_for(nina)
    deactivate_user(nina, CTX, "left")
    assert user_for(token) is None
    with pytest.raises(UserError, match="already deactivated"):
        deactivate_user(nina, CTX, "again")
    reactivate_user(nina, CTX, "back")
    assert user_for(token) is None


def test_revoking_needs_a_reason_and_a_password_is_never_recorded():
    install()
    user("ada", "admin")
    nina = user("nina", "coordinator", "BAL")
    before = _counts()
    with pytest.raises(InputError, match="reason"):
        revoke_role(Membership.objects.get(user=nina), CTX, reason="")
    with pytest.raises(InputError, match="reason"):
        set_password(nina, GOOD_PASSWORD, CTX, reason="")
    assert _counts() == before
    set_password(nina, GOOD_PASSWORD, CTX, reason="forgot")
    assert all(GOOD_PASSWORD not in e.new_value + e.old_value + e.reason for e in LedgerEntry.objects.all())


def test_details_corrects_the_name_or_the_address_and_keeps_the_other(capsys):
    install()
    user("ada", "admin")
    nina = user("nina", "coordinator", "BAL")
    nina.first_name, nina.last_name, nina.email = "Nina", "Nurse", "nina@old.example.org"
    nina.save()
    assert main(["staff", "details", "nina", "--email", "nina@new.example.org", "--reason", "new address",
                 "--as", "ada", "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out) == {"username": "nina", "full_name": "Nina Nurse",
                                                   "email": "nina@new.example.org"}  # fmt: skip
    assert main(["staff", "details", "nina", "--full-name", "Nina Nielsen", "--as", "ada"]) == 0
    assert "nina: Nina Nielsen <nina@new.example.org>" in capsys.readouterr().out
    entries = LedgerEntry.objects.filter(action="update", entity="user", entity_id="nina").order_by("seq")
    assert [(json.loads(e.old_value), json.loads(e.new_value), e.reason) for e in entries] == [
        ({"full_name": "Nina Nurse", "email": "nina@old.example.org"},
         {"full_name": "Nina Nurse", "email": "nina@new.example.org"}, "new address"),
        ({"full_name": "Nina Nurse", "email": "nina@new.example.org"},
         {"full_name": "Nina Nielsen", "email": "nina@new.example.org"}, ""),
    ]
