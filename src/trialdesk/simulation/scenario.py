"""A power scenario: the trial's design as the simulator needs it, in plain values.

:func:`scenario_from_protocol` reads the sizes from the protocol (participants, arms and their ratio,
sites and their recruitment shares, participants per IMR group, the sample-size assumptions delta, SD
and alpha, the primary visit); what a protocol does not declare (correlations, ICC, the diagnosis mix,
missingness) has a default here marked *assumed* in :data:`ASSUMED`, and every value can be overridden.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
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
    Without a protocol, the embedded one (read through :func:`protocol_extract`'s cache).
    """
    extract = protocol_extract() if protocol is None else _extract(protocol)
    return scenario_from_extract(extract, **overrides)


def scenario_from_extract(extract: dict[str, Any], **overrides: Any) -> Scenario:
    """A :class:`Scenario` from :func:`protocol_extract`'s values; keyword overrides win."""
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in extract["values"].items()}
    treated_ratio, control_ratio = extract["ratio"]
    n_per_arm = overrides.pop("n_per_arm", None)
    if n_per_arm is not None:
        values["n_control"] = int(n_per_arm)
        values["n_intervention"] = round(int(n_per_arm) * treated_ratio / control_ratio)
    values["source"] = dict(extract["source"])
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Scenario(**values)


def _extract(protocol: Protocol) -> dict[str, Any]:
    """What the simulator takes from a validated protocol, as JSON-ready values."""
    intervention_code = protocol.intervention.arm
    treated = [a for a in protocol.arms if a.code == intervention_code]
    controls = [a for a in protocol.arms if a.code != intervention_code]
    if len(treated) != 1 or len(controls) != 1:
        raise UserError("the power simulation needs exactly two arms, one receiving the intervention")
    ratio_total = treated[0].ratio + controls[0].ratio
    total = protocol.trial.target_participants
    n_intervention = round(total * treated[0].ratio / ratio_total)
    targets = [s.recruitment_target or 1 for s in protocol.sites]
    primary = protocol.primary_outcome
    follow_ups = [v for v in protocol.visits if v.month > 0]
    visit_codes = [v.code for v in follow_ups]
    if not primary.visits or primary.visits[0] not in visit_codes:
        raise UserError(f"primary outcome {primary.code} has no follow-up visit to simulate")
    size = protocol.sample_size
    analysis = "ancova"  # the primary plan: a partially nested / mixed model means lmm
    for plan in protocol.analysis.plans:
        if primary.code in plan.outcomes:
            analysis = "lmm" if plan.model in ("pnm", "lmm", "mmrm") or plan.clustering else "ancova"
            break
    return {
        "ratio": [treated[0].ratio, controls[0].ratio],
        "default_analysis": analysis,
        "source": {"protocol": protocol.trial.code, "content_hash": protocol.content_hash,
                   "primary_outcome": primary.code},
        "values": {
            "n_control": total - n_intervention,
            "n_intervention": n_intervention,
            "effect": size.delta,
            "sd": size.sd,
            "alpha": protocol.analysis.alpha,
            "group_size": protocol.intervention.participants_per_group,
            "dropout": size.dropout,
            "site_shares": [t / sum(targets) for t in targets],
            "site_codes": [s.code for s in protocol.sites],
            "visit_months": [v.month for v in follow_ups],
            "primary_visit": visit_codes.index(primary.visits[0]),
            "arm_codes": [controls[0].code, treated[0].code],
        },
    }


#: The embedded protocol (what trialdesk.protocol.EMBEDDED_PROTOCOL names, without importing it).
_EMBEDDED = Path(__file__).resolve().parent.parent / "protocols" / "imr.toml"
#: Code whose change can change an extract: the protocol's parsing and checks, and this module.
_CODE = [Path(__file__).resolve().parent.parent / package for package in ("protocol", "instruments")]


def protocol_extract(path: str | Path | None = None) -> dict[str, Any]:
    """:func:`_extract` of the protocol file at ``path`` (default: the embedded protocol).

    Validating a protocol needs the whole protocol package (pydantic models, cross-checks, the
    instrument library): a third of the run time of ``trialdesk simulate power``. So the extract of a
    protocol that validated is kept as JSON in the user's cache directory, under the SHA-256 of the
    file's bytes and of the code that reads it; an unchanged protocol is read back from there, and
    any change to the file or to that code means a full validation again.
    """
    file = Path(path) if path is not None else _EMBEDDED
    try:
        content = file.read_bytes()
    except OSError:
        content = None  # load_protocol reports it as a user error
    cached = None
    if content is not None:
        digest = hashlib.sha256(content)
        for package in _CODE:
            for source in sorted(package.glob("*.py")):
                digest.update(source.read_bytes())
        digest.update(Path(__file__).read_bytes())
        cached = _cache_directory() / f"{digest.hexdigest()}.json"
        try:
            extract: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
            return extract
        except (OSError, ValueError):
            pass
    from trialdesk.protocol import load_protocol

    extract = _extract(load_protocol(path))
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(extract), encoding="utf-8")
            os.replace(partial, cached)
        except OSError:
            pass  # no cache: every run validates
    return extract


def _cache_directory() -> Path:
    """$TRIALDESK_CACHE_DIR, else trialdesk/ under $XDG_CACHE_HOME or ~/.cache."""
    own = os.environ.get("TRIALDESK_CACHE_DIR")
    if own:
        return Path(own) / "protocol-extracts"
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "trialdesk" / "protocol-extracts"
