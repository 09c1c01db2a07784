"""Protocol problems: stable codes, one line each, and the exception that carries them all."""

from __future__ import annotations

from dataclasses import dataclass

from trialdesk.errors import ProblemsError

# Stable problem codes. Never renumber: scripts and people match on them. The reference page
# (docs/reference/protocol.md) is generated from this table.
CODES: dict[str, str] = {
    "P001": "The file is not valid TOML (or not UTF-8).",
    "P002": "Unknown key: not a field of the schema (often a misspelling).",
    "P003": "A required field is missing.",
    "P004": "A value has the wrong type or is out of its allowed range or set.",
    "P010": "Duplicate code (sites, site prefixes, arms, factors, levels, criteria, visits, outcomes, "
    "modules, analysis sets, plans) or duplicate entry in a list.",
    "P011": "Unknown instrument: not in the instrument library.",
    "P012": "Visit windows overlap, or visits are not in time order.",
    "P014": "Allocation ratio is not positive.",
    "P015": "Stratification factor has no levels, or its levels do not match its source.",
    "P016": "Reference to something not declared (arm, stratification factor, criterion, analysis set, "
    "outcome).",
    "P017": "Outcome refers to a visit that does not exist.",
    "P018": "Outcome refers to a score its instrument does not have.",
    "P019": "Outcome's instrument is not collected at one of its visits.",
    "P020": "There must be exactly one primary outcome.",
    "P021": "The intervention arm is not an arm, or that arm is not marked as receiving the intervention.",
    "P022": "Curriculum modules are not numbered 1..n in order.",
    "P023": "An assumed path does not point at a value in the file.",
    "P024": "Randomisation settings are inconsistent (block sizes, minimisation settings).",
    "P025": "An outcome's fields do not fit its source (instrument or register).",
    "P026": "An outcome is covered by no analysis plan, or by more than one.",
    "P027": "An eligibility criterion's fields do not fit its answer type, or an ICD-10 code is malformed.",
    "P028": "Baseline adjustment asked for an outcome not measured at the baseline visit.",
    "P029": "Multiplicity settings are inconsistent (hierarchical without an order, order not secondary).",
    "P030": "Values that must be ordered are not (dates, minimum above maximum, fidelity thresholds).",
    "P031": "An analysis plan's settings do not fit its model (pnm without clustering, offset on a non-count "
    "model, multiple imputation without imputations and seed).",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a protocol, printed as ``P012 visits[2].window_after_months: ... (line 88)``."""

    code: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line is not None else ""
        return f"{self.code} {self.path}: {self.message}{where}"


class ProtocolProblems(ProblemsError):  # noqa: N818 (name fixed in notes/interfaces.md)
    """Every problem found in a protocol file, one line each, in file order."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        ordered = sorted(problems, key=lambda p: (p.line if p.line is not None else 10**9, p.code, p.path))
        super().__init__([str(problem) for problem in ordered])
        self.items = ordered
        self.source = source
