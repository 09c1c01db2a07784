"""Answers to the protocol's criteria: checking them, and the verdict they give (no Django here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trialdesk.apps.participants.problems import InputError
from trialdesk.errors import UserError
from trialdesk.errors import gettext as _
from trialdesk.protocol.schema import Criterion

from . import icd10

_YES = {"yes", "true", "1", "y", "ja"}
_NO = {"no", "false", "0", "n", "nej"}


@dataclass(frozen=True)
class Verdict:
    eligible: bool
    #: failed criteria, in protocol order: {"code", "text", "rescreen_allowed"}
    reasons: tuple[dict[str, Any], ...]

    @property
    def rescreenable(self) -> bool:
        """Ineligible only on criteria that allow a later re-screening."""
        return bool(self.reasons) and all(reason["rescreen_allowed"] for reason in self.reasons)


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise UserError(_("answer yes or no, not %(value)s") % {"value": repr(str(value)[:20])})


def _codes(criterion: Criterion, value: object) -> list[str]:
    if isinstance(value, str):
        codes = icd10.parse_list(value)
    elif isinstance(value, list | tuple):
        codes = [icd10.normalise(str(item)) for item in value]
    else:
        raise UserError(_("enter ICD-10 codes as text or a list"))
    if criterion.kind == "inclusion" and not codes:
        raise UserError(_("enter the ICD-10 diagnosis code(s)"))
    return codes


def _age(value: object) -> int:
    try:
        age = int(str(value))
    except ValueError:
        raise UserError(_("age must be a whole number of years, not %(value)s") % {
            "value": repr(str(value)[:20])}) from None
    if not 0 <= age <= 130:
        raise UserError(_("age %(age)s is outside 0-130 years") % {"age": age})
    return age


def clean_answers(criteria: Sequence[Criterion], raw: Mapping[str, object]) -> dict[str, Any]:
    """One checked answer per criterion; InputError naming every missing or malformed answer."""
    known = {criterion.code for criterion in criteria}
    problems = {
        code: _("unknown criterion %(code)s") % {"code": repr(code)} for code in raw if code not in known
    }
    answers: dict[str, Any] = {}
    for criterion in criteria:
        value = raw.get(criterion.code)
        # An exclusion by diagnosis may be left empty: no such comorbid diagnosis.
        empty_allowed = criterion.answer_type == "icd10" and criterion.kind == "exclusion"
        if value is None or (isinstance(value, str) and not value.strip() and not empty_allowed):
            problems[criterion.code] = _("missing answer to %(criterion_code)s (%(text)s)") % {
                "criterion_code": criterion.code, "text": criterion.text}
            continue
        try:
            if criterion.answer_type == "boolean":
                answers[criterion.code] = _boolean(value)
            elif criterion.answer_type == "icd10":
                answers[criterion.code] = _codes(criterion, value)
            else:
                answers[criterion.code] = _age(value)
        except UserError as problem:
            problems[criterion.code] = _("%(criterion_code)s: %(problem)s") % {
                "criterion_code": criterion.code, "problem": problem}
    if problems:
        raise InputError(problems)
    return answers


def _passes(criterion: Criterion, answer: Any) -> bool:
    if criterion.answer_type == "boolean":
        return answer is criterion.qualifying_answer
    if criterion.answer_type == "icd10":
        matched = any(icd10.matches(code, criterion.icd10) for code in answer)
        return matched if criterion.kind == "inclusion" else not matched
    low = criterion.minimum if criterion.minimum is not None else 0
    high = criterion.maximum if criterion.maximum is not None else 10**6
    return low <= answer <= high


def evaluate(criteria: Sequence[Criterion], answers: Mapping[str, Any]) -> Verdict:
    """All inclusion criteria met and no exclusion criterion met -> eligible; else the failed ones."""
    reasons = tuple(
        {"code": c.code, "text": c.text, "rescreen_allowed": c.rescreen_allowed}
        for c in criteria
        if not _passes(c, answers[c.code])
    )
    return Verdict(eligible=not reasons, reasons=reasons)
