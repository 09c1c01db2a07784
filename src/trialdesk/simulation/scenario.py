"""A power scenario: the trial's design as the simulator needs it, in plain values.

:func:`scenario_from_protocol` reads the sizes from the protocol (participants, arms and their ratio,
sites and their recruitment shares, participants per IMR group, the sample-size assumptions delta, SD
and alpha, the primary visit); what a protocol does not declare (correlations, ICC, the diagnosis mix,
missingness) has a default here marked *assumed* in :data:`ASSUMED`, and every value can be overridden.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from trialdesk.errors import UserError

if TYPE_CHECKING:
    from trialdesk.protocol import Protocol

#: Values the protocol does not give, with the reason for the default.
ASSUMED: dict[str, str] = {
    "rho": "baseline-follow-up correlation of GAF-F 0.5: a moderate value for a functioning rating "
           "repeated 9 months apart",
    "rho_followups": "correlation of the 9- and 21-month values 0.6",
    "icc": "intra-class correlation within IMR groups 0.05, typical of group psychotherapy trials",
    "diagnosis_share": "share of schizophrenia (F20) among participants 0.6",
    "diagnosis_effect": "bipolar (F31) participants score 4 points higher on average",
    "site_effect_sd": "sites differ by an SD of 2 points",
    "dropout": "no loss at the primary visit unless the protocol's sample_size.dropout says so",
    "mar_slope": "log-odds of missing fall by 0.3 per SD of better baseline (missing at random)",
}


@dataclass(frozen=True)
class Scenario:
    """One design to simulate. Sizes are per arm; ``effect`` is the true difference at the primary visit.

    ``icc`` is the share of the intervention arm's follow-up variance due to therapy groups
    (``sd_u**2 / (sd**2 + sd_u**2)``); the control arm is not grouped (a partially nested design).
    ``dropout`` is the share missing at the primary visit, missing at random given baseline.
    """

    n_control: int
    n_intervention: int
    effect: float
    sd: float = 15.0
    alpha: float = 0.05
    rho: float = 0.5
    rho_followups: float = 0.6
    icc: float = 0.05
    group_size: int = 10
    dropout: float = 0.0
    mar_slope: float = -0.3
    site_shares: tuple[float, ...] = (0.5, 0.5)
    site_codes: tuple[str, ...] = ("BAL", "FRB")
    diagnosis_share: float = 0.6
    diagnosis_effect: float = 4.0
    site_effect_sd: float = 2.0
    baseline_mean: float = 41.0
    visit_months: tuple[int, ...] = (9, 21)
    primary_visit: int = 0  # index into visit_months
    arm_codes: tuple[str, str] = ("TAU", "IMR")  # (control, intervention)
    source: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.n_control < 2 or self.n_intervention < 2:
            raise UserError(
                f"need at least 2 participants per arm (got {self.n_control}, {self.n_intervention})")
        checks = [
            ("sd", self.sd > 0, "must be > 0"),
            ("alpha", 0 < self.alpha < 1, "must be strictly between 0 and 1"),
            ("rho", -1 < self.rho < 1, "must be strictly between -1 and 1"),
            ("rho_followups", -1 < self.rho_followups < 1, "must be strictly between -1 and 1"),
            ("icc", 0 <= self.icc < 1, "must be in [0, 1)"),
            ("group_size", self.group_size >= 2, "must be at least 2"),
            ("dropout", 0 <= self.dropout < 1, "must be in [0, 1)"),
            ("diagnosis_share", 0 < self.diagnosis_share < 1, "must be strictly between 0 and 1"),
            ("effect", math.isfinite(self.effect), "must be a number"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise UserError(f"scenario {name} {rule} (got {getattr(self, name)})")
        if len(self.site_shares) != len(self.site_codes) or abs(sum(self.site_shares) - 1) > 1e-9:
            raise UserError("scenario site_shares must sum to 1, one per site")
        if not 0 <= self.primary_visit < len(self.visit_months):
            raise UserError(f"scenario primary_visit {self.primary_visit} is not one of the follow-up visits")
        # the 3 x 3 correlation of (baseline, follow-ups) must be positive definite
        if 1 - self.rho**2 - self.rho**2 - self.rho_followups**2 + 2 * self.rho**2 * self.rho_followups <= 0:
            raise UserError("scenario rho and rho_followups give no valid correlation matrix")

    @property
    def n_total(self) -> int:
        return self.n_control + self.n_intervention

    @property
    def sd_group(self) -> float:
        """SD of the therapy-group effect: icc = sd_u^2 / (sd^2 + sd_u^2)."""
        return self.sd * math.sqrt(self.icc / (1 - self.icc))

    def with_(self, **changes: Any) -> Scenario:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["n_total"] = self.n_total
        return values


def scenario_from_protocol(protocol: Protocol | None = None, **overrides: Any) -> Scenario:
    """The protocol's primary comparison as a :class:`Scenario`; keyword overrides win.

    ``n_per_arm`` (if given) sets the control arm's size and scales the others by the arms' ratio.
    """
    if protocol is None:
        from trialdesk.protocol import load_protocol

        protocol = load_protocol()
    intervention_code = protocol.intervention.arm
    treated = [a for a in protocol.arms if a.code == intervention_code]
    controls = [a for a in protocol.arms if a.code != intervention_code]
    if len(treated) != 1 or len(controls) != 1:
        raise UserError("the power simulation needs exactly two arms, one receiving the intervention")
    ratio_total = treated[0].ratio + controls[0].ratio
    n_per_arm = overrides.pop("n_per_arm", None)
    if n_per_arm is not None:
        n_control = int(n_per_arm)
        n_intervention = round(n_control * treated[0].ratio / controls[0].ratio)
    else:
        total = protocol.trial.target_participants
        n_intervention = round(total * treated[0].ratio / ratio_total)
        n_control = total - n_intervention
    targets = [s.recruitment_target or 1 for s in protocol.sites]
    shares = tuple(t / sum(targets) for t in targets)
    primary = protocol.primary_outcome
    follow_ups = [v for v in protocol.visits if v.month > 0]
    visit_codes = [v.code for v in follow_ups]
    if not primary.visits or primary.visits[0] not in visit_codes:
        raise UserError(f"primary outcome {primary.code} has no follow-up visit to simulate")
    size = protocol.sample_size
    values: dict[str, Any] = {
        "n_control": n_control,
        "n_intervention": n_intervention,
        "effect": size.delta,
        "sd": size.sd,
        "alpha": protocol.analysis.alpha,
        "group_size": protocol.intervention.participants_per_group,
        "dropout": size.dropout,
        "site_shares": shares,
        "site_codes": tuple(s.code for s in protocol.sites),
        "visit_months": tuple(v.month for v in follow_ups),
        "primary_visit": visit_codes.index(primary.visits[0]),
        "arm_codes": (controls[0].code, treated[0].code),
        "source": {"protocol": protocol.trial.code, "content_hash": protocol.content_hash,
                   "primary_outcome": primary.code},
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Scenario(**values)
