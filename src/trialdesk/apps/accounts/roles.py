"""Roles and the actions each may take. Data, not code paths: every check reads these tables.

Blinding is expressed here: only roles holding ``view-allocation`` ever see an arm, and the outcome
assessor role is incompatible with all of them.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext, gettext_noop


class Role(StrEnum):
    COORDINATOR = "coordinator"
    ASSESSOR = "assessor"
    FACILITATOR = "facilitator"
    FIDELITY_RATER = "fidelity_rater"
    DATA_MANAGER = "data_manager"
    STATISTICIAN = "statistician"
    INVESTIGATOR = "investigator"
    MONITOR = "monitor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """The role's name in the active language (English outside a request, and before Django's apps are
        loaded: model choices and the CLI's argument parsing read labels that early)."""
        from django.apps import apps

        return gettext(ROLE_LABELS[self]) if apps.ready else ROLE_LABELS[self]


ROLE_LABELS = {
    Role.COORDINATOR: gettext_noop("Site coordinator"),
    Role.ASSESSOR: gettext_noop("Outcome assessor (blinded)"),
    Role.FACILITATOR: gettext_noop("IMR facilitator"),
    Role.FIDELITY_RATER: gettext_noop("Fidelity rater"),
    Role.DATA_MANAGER: gettext_noop("Data manager"),
    Role.STATISTICIAN: gettext_noop("Trial statistician"),
    Role.INVESTIGATOR: gettext_noop("Investigator"),
    Role.MONITOR: gettext_noop("Monitor"),
    Role.ADMIN: gettext_noop("Administrator"),
}

#: Every action a check can name, with what it lets a user do.
ACTIONS: dict[str, str] = {
    "view-participants": "see participants' trial ids and status at the site",
    "screen": "record screenings and eligibility",
    "consent": "record consent and withdrawal",
    "view-personal-data": "read identifying data (CPR, name, contact) from the key table",
    "randomise": "request a randomisation",
    "view-allocation": "see a participant's arm (unblinded)",
    "manage-allocation-list": "generate or upload the allocation sequence",
    "request-unblinding": "ask for an emergency unblinding",
    "approve-unblinding": "approve an emergency unblinding",
    "book-visits": "book and manage visits",
    "enter-assessment": "enter outcome ratings",
    "view-assessments": "read outcome ratings",
    "enter-self-report": "enter self-report questionnaires from paper or issue links",
    "record-guess": "record the assessor's guess of allocation",
    "manage-groups": "form IMR groups and place participants",
    "run-sessions": "record sessions, attendance and recovery goals",
    "rate-fidelity": "rate sessions on the IMR Fidelity Scale",
    "import-registers": "import hospital-register extracts (personal-data key holder)",
    "manage-queries": "raise and close data queries",
    "answer-queries": "answer data queries at the site",
    "view-audit": "review the audit ledger",
    "lock-data": "lock and unlock data",
    "approve-unlock": "approve an unlock as the second person",
    "verify-source": "mark forms as source-data verified",
    "sign-casebook": "sign a participant's casebook",
    "export-data": "export data",
    "run-analysis": "run the analysis plan and build reports",
    "view-dashboards": "see recruitment and data-quality dashboards",
    "view-closed-report": "see results split by named arm",
    "manage-users": "create staff accounts and assign roles",
}

ROLE_ACTIONS: dict[Role, frozenset[str]] = {
    Role.COORDINATOR: frozenset({
        "view-participants", "screen", "consent", "randomise", "view-allocation", "request-unblinding",
        "book-visits", "enter-self-report", "manage-groups", "answer-queries", "view-dashboards",
    }),
    Role.ASSESSOR: frozenset({
        "view-participants", "book-visits", "enter-assessment", "view-assessments", "enter-self-report",
        "record-guess", "answer-queries",
    }),
    Role.FACILITATOR: frozenset({"view-participants", "view-allocation", "run-sessions", "manage-groups"}),
    Role.FIDELITY_RATER: frozenset({"rate-fidelity"}),
    Role.DATA_MANAGER: frozenset({
        "view-participants", "view-assessments", "manage-queries", "answer-queries", "view-audit",
        "lock-data", "approve-unlock", "export-data", "view-dashboards",
    }),
    Role.STATISTICIAN: frozenset({
        "manage-allocation-list", "view-assessments", "export-data", "run-analysis", "view-dashboards",
    }),
    Role.INVESTIGATOR: frozenset({
        "view-participants", "view-assessments", "approve-unblinding", "sign-casebook", "view-dashboards",
        "view-audit", "approve-unlock",
    }),
    Role.MONITOR: frozenset({
        "view-participants", "view-assessments", "verify-source", "view-audit", "view-dashboards",
    }),
    Role.ADMIN: frozenset({"manage-users", "view-audit", "view-dashboards"}),
}

#: Actions a membership gains when it is explicitly named unblinded (statistician, investigator, monitor).
UNBLINDED_ACTIONS = frozenset({"view-allocation", "view-closed-report"})
#: Actions gained with the personal-data permission (site staff who hold the key).
PERSONAL_DATA_ACTIONS = frozenset({"view-personal-data", "import-registers"})
#: Roles whose members see the allocation by the nature of their work.
UNBLINDED_BY_ROLE = frozenset(role for role, actions in ROLE_ACTIONS.items() if "view-allocation" in actions)
#: Roles that may be named unblinded; assessors never.
MAY_BE_UNBLINDED = frozenset({Role.STATISTICIAN, Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER})
#: Roles whose members work across all sites unless given a site.
SPANS_SITES = frozenset({Role.DATA_MANAGER, Role.STATISTICIAN, Role.MONITOR, Role.ADMIN, Role.INVESTIGATOR,
                         Role.FIDELITY_RATER})

assert all(action in ACTIONS for actions in ROLE_ACTIONS.values() for action in actions)
