"""The protocol schema: a whole trial as frozen, validated objects.

Field-level rules (types, ranges, unknown keys) live here; rules that relate one part of the protocol
to another (an outcome's visit must exist...) live in :mod:`trialdesk.protocol.checks`, where each
has a stable problem code.
"""

from __future__ import annotations

import datetime as dt
import itertools
from functools import cached_property
from typing import Literal, TypeVar

from pydantic import Field

from trialdesk.errors import UserError
from trialdesk.protocol.base import Code, Model, Text
from trialdesk.protocol.plan import Analysis, AnalysisPlan


class RegistryId(Model):
    kind: Text = Field(description="Which register or organisation issued the id (e.g. clinicaltrials.gov).")
    id: Text = Field(description="The identifier itself.")


class Reference(Model):
    kind: Literal["protocol", "results", "other"] = Field(description="What the publication reports.")
    citation: Text = Field(description="Citation as it would appear in a reference list.")


class Trial(Model):
    code: Code = Field(description="Short code of the trial, e.g. IMR.")
    title: Text = Field(description="Full scientific title.")
    short_title: Text = Field(description="Short title for headers and reports.")
    registry_ids: tuple[RegistryId, ...] = Field(description="Registry and secondary identifiers.")
    sponsor: Text = Field(description="Sponsor organisation.")
    collaborators: tuple[Text, ...] = Field(default=(), description="Collaborating organisations.")
    responsible_party: Text = Field(description="Person responsible for the trial.")
    start_date: dt.date = Field(description="Study start date (ISO 8601).")
    completion_date: dt.date = Field(description="Study completion date (ISO 8601).")
    target_participants: int = Field(gt=0, description="Number of participants to randomise.")
    protocol_version: Text = Field(description="Version label of this protocol document.")
    design: Text = Field(description="One-line design summary (allocation, masking, purpose).")
    masked_roles: tuple[Code, ...] = Field(
        description="Roles kept blind to allocation (e.g. assessor); the permission layer enforces it."
    )
    references: tuple[Reference, ...] = Field(default=(), description="Protocol and results publications.")


class Site(Model):
    code: Code = Field(description="Site code, e.g. BAL.")
    name: Text = Field(description="Site name as shown to users.")
    prefix: Code = Field(description="Prefix of participant trial ids at this site (e.g. BAL in BAL-0007).")
    recruitment_target: int | None = Field(
        default=None, gt=0, description="Participants this site aims to recruit."
    )


class Arm(Model):
    code: Code = Field(description="Arm code, e.g. IMR or TAU.")
    label: Text = Field(description="Arm label as shown to unblinded users.")
    ratio: int = Field(description="Allocation ratio weight (1:1 is ratio 1 for each arm); must be positive.")
    receives_intervention: bool = Field(
        description="Whether participants in this arm receive the intervention."
    )
    description: str = Field(default="", description="What participants in this arm receive.")


class Level(Model):
    code: Code = Field(description="Level code, e.g. F20.")
    label: Text = Field(description="Level label.")
    icd10: tuple[str, ...] = Field(
        default=(),
        description="ICD-10 categories that place a participant in this level (diagnosis factors).",
    )


class Factor(Model):
    code: Code = Field(description="Factor code, e.g. site or diagnosis.")
    label: Text = Field(description="Factor label.")
    source: Literal["site", "criterion"] = Field(
        description="Where the level comes from: the participant's site (levels are then the sites) or the "
        "answer to an eligibility criterion."
    )
    criterion: Code | None = Field(
        default=None,
        description="Eligibility criterion code whose answer gives the level (source=criterion).",
    )
    levels: tuple[Level, ...] = Field(
        default=(), description="The levels; leave empty for source=site (the sites are the levels)."
    )


class Minimisation(Model):
    probability: float = Field(
        gt=0.5, le=1, description="Probability of assigning the arm that minimises imbalance (Pocock-Simon)."
    )
    factor_weights: dict[str, float] = Field(
        default_factory=dict, description="Weight per stratification factor code; missing factors weigh 1."
    )


class Randomisation(Model):
    method: Literal["permuted_blocks", "minimisation"] = Field(description="Allocation method.")
    block_sizes: tuple[int, ...] = Field(
        default=(), description="Block sizes drawn at random with equal probability (permuted_blocks)."
    )
    minimisation: Minimisation | None = Field(default=None, description="Settings for method=minimisation.")
    concealment: str = Field(default="", description="How the sequence is concealed from recruiters.")


class Criterion(Model):
    code: Code = Field(description="Criterion code, e.g. I1 or E3.")
    kind: Literal["inclusion", "exclusion"] = Field(
        description="Inclusion (all required) or exclusion (any excludes)."
    )
    text: Text = Field(description="The criterion as worded in the protocol.")
    answer_type: Literal["boolean", "icd10", "age"] = Field(
        description="What the screener records: yes/no, ICD-10 code(s), or age in years."
    )
    qualifying_answer: bool | None = Field(
        default=None, description="For boolean criteria: the answer that keeps the person eligible."
    )
    minimum: int | None = Field(default=None, description="For age criteria: lowest eligible age in years.")
    maximum: int | None = Field(default=None, description="For age criteria: highest eligible age in years.")
    icd10: tuple[str, ...] = Field(
        default=(),
        description="For icd10 criteria: the code set (categories such as F20; a recorded code matches a "
        "category it starts with). Inclusion: a diagnosis must match; exclusion: any match excludes.",
    )
    rescreen_allowed: bool = Field(
        default=False, description="Whether a person excluded by it may be re-screened."
    )


class Visit(Model):
    code: Code = Field(description="Visit code, e.g. baseline, m9.")
    label: Text = Field(description="Visit label.")
    month: int = Field(ge=0, description="Target time in months after baseline.")
    window_before_months: float = Field(
        ge=0, description="How many months before the target the visit may happen."
    )
    window_after_months: float = Field(
        ge=0, description="How many months after the target the visit may happen."
    )
    before_randomisation: bool = Field(default=False, description="Must be complete before randomisation.")
    instruments: tuple[Code, ...] = Field(description="Instrument codes collected at this visit.")


class Outcome(Model):
    code: Code = Field(description="Outcome code.")
    label: Text = Field(description="Outcome label.")
    role: Literal["primary", "secondary"] = Field(description="Primary (exactly one) or secondary.")
    domain: str = Field(default="", description="Domain measured (functioning, symptoms...).")
    source: Literal["instrument", "register"] = Field(
        default="instrument", description="Rated on an instrument at visits, or counted from a register."
    )
    instrument: Code | None = Field(default=None, description="Instrument code (source=instrument).")
    score: Code | None = Field(default=None, description="Score name of the instrument: total or a subscale.")
    measure: Literal["admissions", "bed_days", "er_visits", "outpatient_contacts"] | None = Field(
        default=None, description="Register measure (source=register), counted per period."
    )
    visits: tuple[Code, ...] = Field(
        description="Visits at which it is analysed; for register outcomes, the ends of the counting "
        "periods (each period starts at the previous visit)."
    )
    direction: Literal["higher_is_better", "lower_is_better"] = Field(description="Direction of benefit.")


class Module(Model):
    number: int = Field(description="Position in the curriculum, 1..n.")
    code: Code = Field(description="Module code.")
    title: Text = Field(description="Module title.")


class Fidelity(Model):
    instrument: Code = Field(description="Instrument used to rate sessions.")
    high: float = Field(description="Mean item score from which fidelity is high.")
    moderate: float = Field(description="Mean item score from which fidelity is moderate (below: low).")


class Intervention(Model):
    name: Text = Field(description="Name of the intervention.")
    arm: Code = Field(description="Code of the arm that receives it.")
    description: str = Field(default="", description="What is delivered.")
    modules: tuple[Module, ...] = Field(description="Curriculum modules, in order.")
    participants_per_group: int = Field(gt=0, description="Planned participants per group.")
    group_start_minimum: int = Field(
        gt=0, description="Participants waiting at a site before a group starts."
    )
    facilitators_min: int = Field(gt=0, description="Fewest facilitators per group.")
    facilitators_max: int = Field(gt=0, description="Most facilitators per group.")
    session_frequency: Literal["weekly", "fortnightly", "monthly"] = Field(
        description="How often groups meet."
    )
    duration_months: int = Field(gt=0, description="Length of the programme in months.")
    sessions_min: int = Field(gt=0, description="Fewest sessions a group is expected to hold.")
    sessions_max: int = Field(gt=0, description="Most sessions a group is expected to hold.")
    session_minutes: int = Field(gt=0, description="Length of a session in minutes.")
    completer_threshold: float = Field(
        gt=0, le=1, description="Share of offered sessions a participant must attend to count as a completer."
    )
    fidelity: Fidelity = Field(description="How delivery quality is rated.")


class SampleSize(Model):
    method: Literal["two_sample_t"] = Field(description="Calculation the numbers come from.")
    delta: float = Field(gt=0, description="Smallest difference worth detecting, in outcome units.")
    sd: float = Field(gt=0, description="Standard deviation of the primary outcome.")
    alpha: float = Field(gt=0, lt=1, description="Significance level.")
    power: float = Field(gt=0, lt=1, description="Power to detect delta.")
    sides: Literal[1, 2] = Field(description="One- or two-sided test.")
    n_per_arm: int = Field(gt=0, description="Participants needed per arm.")
    dropout: float = Field(ge=0, lt=1, description="Expected dropout share the target allows for.")


class ConsentDocument(Model):
    version: Text = Field(description="Version label of the document.")
    date: dt.date = Field(description="Date the version was approved.")
    title: Text = Field(description="Document title.")
    language: str = Field(default="da", description="Language code of the document.")


class Choice(Model):
    code: Code = Field(description="Choice code stored in records.")
    label: Text = Field(description="Choice label shown to users.")


class Consent(Model):
    forms: tuple[Literal["oral", "written"], ...] = Field(description="Forms of consent required.")
    documents: tuple[ConsentDocument, ...] = Field(description="Consent documents, all versions.")
    withdrawal_scopes: tuple[Choice, ...] = Field(description="What a participant can withdraw from.")
    decline_reasons: tuple[Choice, ...] = Field(description="Categories of reasons for declining consent.")


class Assumption(Model):
    field: Text = Field(
        description="Dotted path of the assumed value, e.g. visits[m9].window_before_months (list items by "
        "index or by code)."
    )
    note: Text = Field(description="Why the value is assumed and where it might be confirmed.")


class Protocol(Model):
    """A whole trial. TOML keys equal attribute names."""

    schema_version: Literal[1] = Field(description="Version of this schema the file is written for.")
    trial: Trial = Field(description="Identity of the trial.")
    sites: tuple[Site, ...] = Field(description="Recruiting sites.")
    arms: tuple[Arm, ...] = Field(description="Trial arms with allocation ratios.")
    stratification: tuple[Factor, ...] = Field(default=(), description="Stratification factors.")
    randomisation: Randomisation = Field(description="Sequence generation settings.")
    eligibility: tuple[Criterion, ...] = Field(description="Inclusion and exclusion criteria.")
    visits: tuple[Visit, ...] = Field(description="Assessment visits, in time order.")
    outcomes: tuple[Outcome, ...] = Field(description="Primary and secondary outcomes.")
    intervention: Intervention = Field(description="The intervention delivered in the intervention arm.")
    sample_size: SampleSize = Field(description="Sample-size assumptions.")
    analysis: Analysis = Field(description="The statistical analysis plan.")
    consent: Consent = Field(description="Consent documents and choices.")
    assumed: tuple[Assumption, ...] = Field(default=(), description="Every value not taken from a source.")

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON form; formatting and comments in the file do not matter."""
        from trialdesk.protocol.hashing import content_hash

        return content_hash(self)

    def site(self, code: str) -> Site:
        return _by_code(self.sites, code, "site")

    def arm(self, code: str) -> Arm:
        return _by_code(self.arms, code, "arm")

    def visit(self, code: str) -> Visit:
        return _by_code(self.visits, code, "visit")

    def outcome(self, code: str) -> Outcome:
        return _by_code(self.outcomes, code, "outcome")

    @property
    def primary_outcome(self) -> Outcome:
        return next(outcome for outcome in self.outcomes if outcome.role == "primary")

    def plan_for(self, outcome_code: str) -> AnalysisPlan:
        for plan in self.analysis.plans:
            if outcome_code in plan.outcomes:
                return plan
        raise UserError(f"no analysis plan covers outcome {outcome_code!r}")

    def factor_levels(self, factor: Factor) -> tuple[str, ...]:
        """Level codes of a factor; a site-sourced factor's levels are the site codes."""
        if factor.source == "site" and not factor.levels:
            return tuple(site.code for site in self.sites)
        return tuple(level.code for level in factor.levels)

    def strata(self) -> tuple[tuple[str, ...], ...]:
        """Every combination of levels, one tuple per stratum, in factor order (site x diagnosis...)."""
        return tuple(itertools.product(*(self.factor_levels(f) for f in self.stratification)))


_Coded = TypeVar("_Coded", Site, Arm, Visit, Outcome)


def _by_code(items: tuple[_Coded, ...], code: str, what: str) -> _Coded:
    for item in items:
        if item.code == code:
            return item
    known = ", ".join(item.code for item in items) or "none"
    raise UserError(f"unknown {what} {code!r} (known: {known})")
