"""The statistical analysis plan, per outcome, in the terms of ICH E9(R1).

Each plan applies to a list of outcomes; every outcome has exactly one plan (a check enforces it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from trialdesk.protocol.base import Code, Model, Text

Strategy = Literal["treatment_policy", "hypothetical", "composite", "while_on_treatment", "principal_stratum"]
ModelName = Literal["pnm", "mmrm", "lmm", "glmm", "ancova", "nb", "poisson", "logistic"]
Sensitivity = Literal[
    "complete_case", "best_worst", "worst_best", "per_protocol", "tipping_point", "cace", "mi", "mmrm"
]


class IntercurrentEvent(Model):
    event: Text = Field(
        description="An event after randomisation that affects the outcome's meaning or existence."
    )
    strategy: Strategy = Field(
        description="ICH E9(R1) strategy for the event: treatment_policy, hypothetical, composite, "
        "while_on_treatment or principal_stratum."
    )
    note: str = Field(default="", description="Why this strategy, or how it is implemented.")


class Estimand(Model):
    population: Text = Field(description="The patients the treatment effect is meant for.")
    variable: Text = Field(description="The endpoint: what is measured on each patient, and when.")
    intercurrent_events: tuple[IntercurrentEvent, ...] = Field(
        description="Intercurrent events and the strategy that handles each."
    )
    summary_measure: Text = Field(description="The population-level summary comparing the arms.")


class Clustering(Model):
    unit: Literal["imr_group", "site"] = Field(
        description="What participants are clustered in: intervention groups (imr_group) or sites."
    )
    arms: tuple[Code, ...] = Field(
        description="Arms in which the clustering exists; fewer than all arms: a partially nested design."
    )


class MissingData(Model):
    method: Literal["mi", "likelihood", "complete_case", "none"] = Field(
        description="Primary handling of missing outcomes: multiple imputation (mi), a likelihood-based "
        "model under missing at random (likelihood), complete cases, or none (no missing values expected)."
    )
    imputations: int | None = Field(default=None, ge=1, description="Number of imputed data sets for mi.")
    seed: int | None = Field(
        default=None, ge=0, description="Seed for the imputations, so re-runs are identical."
    )
    note: str = Field(
        default="", description="Assumptions behind the method (e.g. missing at random given ...)."
    )


class AnalysisPlan(Model):
    code: Code = Field(description="Identifier of the plan.")
    label: Text = Field(description="Short human-readable name.")
    outcomes: tuple[Code, ...] = Field(description="Codes of the outcomes this plan analyses.")
    estimand: Estimand = Field(description="The estimand targeted (ICH E9(R1)).")
    analysis_set: Code = Field(description="Code of the analysis set (see analysis.analysis_sets).")
    model: ModelName = Field(
        description="Model from the statistics engine: pnm (partially nested mixed model), mmrm, lmm, glmm, "
        "ancova, nb (negative binomial), poisson, logistic."
    )
    adjust_for_baseline: bool = Field(
        description="Adjust for the outcome's own value at the baseline visit (needs the instrument there)."
    )
    covariates: tuple[Code, ...] = Field(
        default=(), description="Further covariates: codes of stratification factors (e.g. site, diagnosis)."
    )
    clustering: Clustering | None = Field(default=None, description="Clustering of participants, if any.")
    offset: Literal["follow_up_time"] | None = Field(
        default=None, description="Offset for count models: log of each participant's follow-up time."
    )
    missing_data: MissingData = Field(description="How missing outcome values are handled.")
    sensitivity: tuple[Sensitivity, ...] = Field(
        default=(),
        description="Sensitivity analyses: complete_case, best_worst, worst_best, per_protocol, "
        "tipping_point, cace (complier average causal effect), mi, mmrm.",
    )


class AnalysisSet(Model):
    code: Code = Field(description="Identifier, e.g. itt or per_protocol.")
    label: Text = Field(description="Short human-readable name.")
    definition: Text = Field(description="Who is in the set and in which arm they are analysed.")


class Multiplicity(Model):
    primary: Literal["none"] = Field(
        description="Adjustment for the primary comparison; none because there is a single primary outcome."
    )
    secondary: Literal["none", "hierarchical", "holm", "bonferroni"] = Field(
        description="How secondary outcomes are protected against multiple testing."
    )
    order: tuple[Code, ...] = Field(
        default=(), description="Outcome codes in testing order, for the hierarchical method."
    )
    note: str = Field(default="", description="Rationale and how the results are to be read.")


class Analysis(Model):
    alpha: float = Field(gt=0, lt=1, description="Two-sided significance level of the primary comparison.")
    analysis_sets: tuple[AnalysisSet, ...] = Field(description="Analysis sets the plans refer to.")
    multiplicity: Multiplicity = Field(description="Control of multiple testing.")
    plans: tuple[AnalysisPlan, ...] = Field(description="One plan per group of outcomes analysed alike.")
