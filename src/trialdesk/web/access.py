"""Who may open each page: URL name -> rule, in one table.

The main navigation shows a section only when its rule allows the user, and the authorisation matrix test
(tests/functional/test_authorisation_matrix.py) requests every URL of the URL configuration as every demo
role, at their own and another site, and compares the answer with this table. A URL name missing here
fails that test, so a new page cannot be added without declaring who may open it.

A rule is evaluated with ``allowed(user, action, obj)``, where ``obj`` is the record the URL names (a
participant, a group, a query...) or None for pages that list records of every site the user works at.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.accounts.roles import ACTIONS


class Rule(ABC):
    @abstractmethod
    def allows(self, user: Any, obj: Any = None) -> bool:
        """Whether ``user`` may open the page (of ``obj``)."""

    def __or__(self, other: Rule | str) -> Rule:
        return AnyOf(self, other)

    def __and__(self, other: Rule | str) -> Rule:
        return AllOf(self, other)


def _rule(value: Rule | str) -> Rule:
    return value if isinstance(value, Rule) else Action(value)


@dataclass(frozen=True)
class Action(Rule):
    action: str

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")

    def allows(self, user: Any, obj: Any = None) -> bool:
        return allowed(user, self.action, obj)

    def __str__(self) -> str:
        return self.action


class AnyOf(Rule):
    def __init__(self, *rules: Rule | str) -> None:
        self.rules = tuple(_rule(r) for r in rules)

    def allows(self, user: Any, obj: Any = None) -> bool:
        return any(r.allows(user, obj) for r in self.rules)

    def __str__(self) -> str:
        return "(" + " | ".join(map(str, self.rules)) + ")"


class AllOf(Rule):
    def __init__(self, *rules: Rule | str) -> None:
        self.rules = tuple(_rule(r) for r in rules)

    def allows(self, user: Any, obj: Any = None) -> bool:
        return all(r.allows(user, obj) for r in self.rules)

    def __str__(self) -> str:
        return "(" + " & ".join(map(str, self.rules)) + ")"


class _Public(Rule):
    """Anyone, signed in or not (the login page, the health check, a participant's self-report link)."""

    def allows(self, user: Any, obj: Any = None) -> bool:
        return True

    def __str__(self) -> str:
        return "public"


class _Login(Rule):
    """Any signed-in user."""

    def allows(self, user: Any, obj: Any = None) -> bool:
        return bool(getattr(user, "is_authenticated", False))

    def __str__(self) -> str:
        return "login"


class _Owner(Rule):
    """The signed-in user's own record (``obj.user_id``), such as their API tokens."""

    def allows(self, user: Any, obj: Any = None) -> bool:
        if not getattr(user, "is_authenticated", False):
            return False
        return obj is None or getattr(obj, "user_id", None) == user.pk

    def __str__(self) -> str:
        return "owner"


PUBLIC = _Public()
LOGIN = _Login()
OWNER = _Owner()


def anyof(*actions: str) -> Rule:
    return AnyOf(*actions)


# Compound rules shared by several pages (each mirrors the check its views make).
#: A participant's visit page (assessments.access.can_open_visits).
OPEN_VISITS = AllOf(
    "view-participants",
    anyof("enter-assessment", "enter-self-report", "book-visits", "view-assessments", "record-guess"),
)
#: IMR groups reveal who is in the intervention arm: an IMR action and view-allocation.
SEE_GROUPS = AllOf("view-allocation", anyof("manage-groups", "run-sessions"))
MANAGE_GROUPS = AllOf("view-allocation", "manage-groups")
RUN_SESSIONS = AllOf("view-allocation", "run-sessions")
#: The data-management pages of a participant (datamanagement.views.casebook.CASEBOOK_ACTIONS).
CASEBOOK = anyof("verify-source", "sign-casebook", "manage-queries", "lock-data", "view-audit")
QUERIES = anyof("manage-queries", "answer-queries")
LOCKS = anyof("lock-data", "approve-unlock")
#: The requester sees their own request; approvers see the requests at their sites.
UNBLINDING = anyof("request-unblinding", "approve-unblinding")

#: URL name -> rule. Every name in the URL configuration outside the admin, static files and the API.
ACCESS: dict[str, Rule] = {
    "home": LOGIN,
    "login": PUBLIC,
    "logout": PUBLIC,
    "health": PUBLIC,
    "two-factor-enrol": LOGIN,
    "two-factor-verify": LOGIN,
    "language": LOGIN,
    "api-tokens:list": LOGIN,
    "api-tokens:revoke": OWNER,
    # staff accounts and roles (the administrator)
    "staff:list": Action("manage-users"),
    "staff:add": Action("manage-users"),
    "staff:detail": Action("manage-users"),
    "staff:details": Action("manage-users"),
    "staff:grant": Action("manage-users"),
    "staff:revoke": Action("manage-users"),
    "staff:activation": Action("manage-users"),
    "staff:password": Action("manage-users"),
    "staff:two_factor": Action("manage-users"),
    # participants, screening, consent
    "participants:list": Action("view-participants"),
    "participants:detail": Action("view-participants"),
    "participants:personal": Action("view-personal-data"),
    "participants:correct_personal": Action("view-personal-data"),
    "participants:status": Action("consent"),
    "screening:log": Action("screen"),
    "screening:new": Action("screen"),
    "screening:rescreen": Action("screen"),
    "consent:record": Action("consent"),
    "consent:decline": Action("consent"),
    "consent:withdraw": Action("consent"),
    # randomisation and unblinding
    "randomisation:lists": Action("manage-allocation-list"),
    "randomisation:activate": Action("manage-allocation-list"),
    "randomisation:unblinding": UNBLINDING,
    "randomisation:unblinding_detail": UNBLINDING,
    "randomisation:request_unblinding": Action("request-unblinding"),
    "randomisation:randomise": Action("randomise"),
    # registers
    "registers:upload": Action("import-registers"),
    "registers:detail": Action("import-registers"),
    # a background import: the key holder who started it
    "registers:job": AllOf("import-registers", OWNER),
    # outcome assessment
    "assessments:worklist": OPEN_VISITS,
    "assessments:participant": OPEN_VISITS,
    "assessments:baseline_date": AllOf(OPEN_VISITS, "book-visits"),
    "assessments:book": AllOf(OPEN_VISITS, "book-visits"),
    "assessments:missed": AllOf(OPEN_VISITS, "book-visits"),
    "assessments:incident": AllOf(OPEN_VISITS, "record-guess"),
    "assessments:guess": AllOf(OPEN_VISITS, "record-guess"),
    "assessments:issue_link": AllOf(OPEN_VISITS, "enter-self-report"),
    # an assessor-rated instrument: entered with enter-assessment, read with view-assessments
    "assessments:form": AllOf(OPEN_VISITS, anyof("enter-assessment", "view-assessments")),
    # checking one of its items as it is typed: only who may enter it (views.inline)
    "assessments:check_item": AllOf(OPEN_VISITS, "enter-assessment"),
    "self_report:done": PUBLIC,
    "self_report:start": PUBLIC,
    "self_report:finish": PUBLIC,
    "self_report:questionnaire": PUBLIC,
    # exports
    "snapshots:index": Action("export-data"),
    "snapshots:table": Action("export-data"),
    "snapshots:download": Action("export-data"),
    # IMR delivery
    "intervention:home": SEE_GROUPS,
    "intervention:groups": SEE_GROUPS,
    "intervention:group": SEE_GROUPS,
    "intervention:group_action": MANAGE_GROUPS,
    "intervention:waiting": MANAGE_GROUPS,
    "intervention:leave": MANAGE_GROUPS,
    "intervention:session": RUN_SESSIONS,
    "intervention:attendance": RUN_SESSIONS,
    "intervention:session_hold": RUN_SESSIONS,
    "intervention:session_cancel": RUN_SESSIONS,
    "intervention:session_reschedule": RUN_SESSIONS,
    "intervention:goals": RUN_SESSIONS,
    "intervention:step_done": RUN_SESSIONS,
    "intervention:fidelity": anyof("rate-fidelity", "manage-groups"),
    "intervention:rate": Action("rate-fidelity"),
    "intervention:dose": SEE_GROUPS,
    "intervention:dose_csv": SEE_GROUPS,
    # data management
    "datamanagement:home": CASEBOOK,
    "datamanagement:audit": Action("view-audit"),
    "datamanagement:audit_csv": Action("view-audit"),
    "datamanagement:queries": QUERIES,
    "datamanagement:query": QUERIES,
    "datamanagement:casebook": CASEBOOK,
    "datamanagement:raise_query": Action("manage-queries"),
    "datamanagement:verify": CASEBOOK,
    "datamanagement:sign": CASEBOOK,
    "datamanagement:locks": LOCKS,
    "datamanagement:request_unlock": LOCKS,
    "datamanagement:decide": LOCKS,
    # analysis (the URL's report version: "open"; the closed report needs view-closed-report)
    "analysis:runs": Action("run-analysis"),
    "analysis:run": Action("run-analysis"),
    "analysis:report": anyof("run-analysis", "view-dashboards"),
    "analysis:dashboard": Action("view-dashboards"),
    "analysis:dashboard-by-arm": Action("view-closed-report"),
}


@dataclass(frozen=True)
class Section:
    label: str  # lazy: translated when the page renders
    url_name: str

    @property
    def rule(self) -> Rule:
        return ACCESS[self.url_name]


#: The main navigation, in order. Each user sees the sections whose page they may open.
NAV: tuple[Section, ...] = (
    Section(_("Participants"), "participants:list"),
    Section(_("Screening"), "screening:log"),
    Section(_("Visits"), "assessments:worklist"),
    Section(_("IMR"), "intervention:home"),
    Section(_("Groups"), "intervention:groups"),
    Section(_("Waiting list"), "intervention:waiting"),
    Section(_("Fidelity"), "intervention:fidelity"),
    Section(_("Dose"), "intervention:dose"),
    Section(_("Casebooks"), "datamanagement:home"),
    Section(_("Queries"), "datamanagement:queries"),
    Section(_("Audit trail"), "datamanagement:audit"),
    Section(_("Locks"), "datamanagement:locks"),
    Section(_("Allocation lists"), "randomisation:lists"),
    Section(_("Unblinding"), "randomisation:unblinding"),
    Section(_("Registers"), "registers:upload"),
    Section(_("Exports"), "snapshots:index"),
    Section(_("Analysis"), "analysis:runs"),
    Section(_("Dashboard"), "analysis:dashboard"),
    Section(_("Staff"), "staff:list"),
)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


def nav_for(user: Any, path: str = "") -> list[NavLink]:
    """The sections ``user`` may open, the one holding ``path`` marked current (the longest match)."""
    from django.urls import reverse

    links = [(s.label, reverse(s.url_name)) for s in NAV if s.rule.allows(user)]
    best = max((url for _, url in links if path.startswith(url)), key=len, default=None)
    return [NavLink(label, url, url == best) for label, url in links]


def lazy_nav(request: Any) -> Callable[[], list[NavLink]]:
    """A callable for templates (called only when the page renders the nav)."""
    return lambda: nav_for(request.user, request.path)
