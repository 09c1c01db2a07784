"""What the simulated IMR trial is calibrated to: published numbers, and assumed values with their reasons.

Published (:data:`PUBLISHED`): Jensen SB et al., BMC Psychiatry 2019;19:65, Table 3 -- complete-case
mean (SD) and n per arm at 9 and 21 months, out of 99 randomised per arm (198 randomised 1:1). Everything
else is *assumed* and listed in :data:`ASSUMED` with the reason; docs/simulation.md tabulates both.
Published counts are for arms of 99: a trial of another size scales them by ``arm size / 99``.
Arms are named by role (``intervention`` / ``control``) so another protocol's arm codes fit.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Participants per arm in the trial the published counts come from.
PUBLISHED_ARM_SIZE = 99
SOURCE = "Jensen SB et al. BMC Psychiatry 2019;19:65, Table 3 (complete cases)"


@dataclass(frozen=True)
class Target:
    """Complete-case mean, SD and (for follow-ups) count out of :data:`PUBLISHED_ARM_SIZE`."""

    mean: float
    sd: float
    n: int | None = None


def _t(mean: float, sd: float, n: int) -> Target:
    return Target(mean, sd, n)


#: (instrument, visit, arm role) -> published complete-case target.
PUBLISHED: dict[tuple[str, str, str], Target] = {}
for _code, _values in {
    "gaf_f": (_t(45.4, 12.1, 62), _t(43.5, 11.8, 59), _t(50.4, 13.4, 66), _t(50.2, 11.8, 62)),
    "gaf_s": (_t(47.1, 13.0, 58), _t(48.5, 13.1, 54), _t(51.1, 13.5, 65), _t(52.7, 11.4, 59)),
    "psp": (_t(52.6, 13.4, 59), _t(49.6, 14.1, 59), _t(52.3, 14.2, 64), _t(53.5, 13.1, 63)),
    "panss": (_t(57.5, 15.4, 51), _t(60.4, 18.9, 52), _t(58.7, 18.1, 55), _t(57.6, 20.7, 57)),
    "hamd17": (_t(5.81, 3.78, 52), _t(5.48, 4.31, 53), _t(6.67, 3.69, 57), _t(6.45, 3.44, 58)),
    "ymrs": (_t(6.77, 5.92, 52), _t(7.49, 6.20, 53), _t(8.02, 5.34, 57), _t(7.43, 5.60, 58)),
    "mhrm": (_t(69.5, 12.2, 59), _t(69.2, 18.0, 57), _t(76.9, 16.4, 49), _t(78.6, 17.3, 44)),
    "ashs": (_t(32.6, 8.3, 68), _t(31.8, 10.0, 71), _t(35.5, 7.67, 52), _t(34.9, 8.64, 50)),
    "csq8": (_t(24.6, 5.1, 61), _t(24.8, 4.1, 58), _t(25.0, 4.76, 55), _t(25.8, 4.0, 46)),
}.items():
    for (_visit, _role), _target in zip(
        [("m9", "intervention"), ("m9", "control"), ("m21", "intervention"), ("m21", "control")],
        _values, strict=True,
    ):
        PUBLISHED[(_code, _visit, _role)] = _target

#: Follow-up targets of instruments Table 3 does not report (assumed, the same in both arms).
ASSUMED_FOLLOW_UP: dict[tuple[str, str], Target] = {
    ("audit", "m9"): _t(4.5, 5.5, 58), ("audit", "m21"): _t(4.5, 5.5, 48),
    ("dudit", "m9"): _t(2.5, 5.0, 58), ("dudit", "m21"): _t(2.5, 5.0, 48),
    ("imrs_client", "m9"): _t(51.0, 8.0, 58), ("imrs_client", "m21"): _t(52.0, 8.0, 48),
    ("imrs_clinician", "m9"): _t(49.0, 8.0, 55), ("imrs_clinician", "m21"): _t(50.0, 8.0, 52),
}

#: Baseline (all randomised) mean and SD per instrument (assumed; csq8 is not rated at baseline but
#: its latent baseline value is still drawn so that its follow-ups correlate with it).
ASSUMED_BASELINE: dict[str, tuple[float, float]] = {
    "gaf_f": (41.0, 11.0), "gaf_s": (44.0, 12.0), "psp": (47.0, 12.0), "panss": (62.0, 17.0),
    "hamd17": (7.5, 4.8), "ymrs": (7.0, 6.0), "mhrm": (65.0, 16.0), "ashs": (31.0, 9.0),
    "csq8": (24.0, 5.0), "audit": (4.5, 5.5), "dudit": (2.5, 5.0), "imrs_client": (49.0, 8.0),
    "imrs_clinician": (47.0, 8.0),
}

#: Latent structure (assumed): loading on a common "doing well" factor (sign = direction: PANSS,
#: HAM-D, YMRS, AUDIT, DUDIT are worse when higher) and on bipolar (versus schizophrenia) diagnosis.
LOADINGS: dict[str, tuple[float, float]] = {
    "gaf_f": (0.80, 0.15), "gaf_s": (0.75, 0.15), "psp": (0.80, 0.15), "panss": (-0.65, -0.25),
    "hamd17": (-0.45, 0.15), "ymrs": (-0.30, 0.30), "mhrm": (0.45, 0.0), "ashs": (0.45, 0.0),
    "csq8": (0.25, 0.0), "audit": (-0.15, 0.0), "dudit": (-0.15, 0.0), "imrs_client": (0.50, 0.0),
    "imrs_clinician": (0.60, 0.0),
}


@dataclass(frozen=True)
class Settings:
    """Assumed values of the whole-trial generator; every one can be overridden (``replace``)."""

    # screening and consent
    decline_share: float = 0.12
    lost_before_randomisation: float = 0.02
    rescreen_share: float = 0.35
    rescreen_passes: float = 0.7
    # outcomes and missingness
    mar_slope: float = 0.3  # log-odds of attending a visit per SD of better baseline GAF-F
    visit_propensity_sd: float = 1.5  # participant-level SD of that log-odds: missingness clusters
    out_of_window: float = 0.06
    item_missing: float = 0.03  # self-report forms with one item left blank
    # delivery
    never_attend: float = 0.12
    attendance_mean: float = 0.62
    attendance_concentration: float = 5.0
    stop_share: float = 0.25
    stop_after_mean: float = 12.0
    withdraw_intervention: float = 0.4  # of those who stop attending
    cancelled: float = 0.05
    intake_weeks: int = 4
    group_lead_days: tuple[int, int] = (7, 28)
    final_group_minimum: int = 3
    fidelity_mean: float = 3.75
    fidelity_group_sd: float = 0.35
    double_rated: float = 0.2
    # blinding
    dont_know: float = 0.65
    correct_given_guess: float = 0.58
    # status
    withdraw_data_collection: float = 0.25  # of those with no follow-up data at all
    death_rate: float = 0.006  # per person-year (assumed, SMI outpatients aged ~37)


#: Assumed values and why (shown in docs/simulation.md and stored with every simulated trial).
ASSUMED: dict[str, str] = {
    "eligibility": "share of screened failing each criterion: I1 0.5 %, I2 1.5 %, I3 4 %, I4 1.5 %, "
                   "I5 1 %, E1 3 %, E2 1 %, E3 9 %, E4 8 %, E5 4 %, E6 0 % (consent refusals are "
                   "recorded at the consent step instead); about 29 % fail at least one",
    "decline": "12 % of eligible people decline (not interested 45 %, burden 25 %, randomisation "
               "20 %, other 10 %); 2 % of consenters leave before randomisation",
    "rescreen": "35 % of people excluded only by re-screenable criteria (E3, E5) are re-screened "
                "60-180 days later; 70 % of them then pass those criteria",
    "baseline": "age N(37, 11) clipped to 18-75; 55 % male; 60 % schizophrenia / 40 % bipolar; "
                "education, employment, living situation and medication shares in population.py",
    "outcomes": "published complete-case means, SDs and counts where Table 3 gives them; baseline "
                "values and AUDIT, DUDIT, IMRS targets assumed (calibration.py)",
    "correlation": "latent scores correlate 0.5 between baseline and follow-ups and 0.6 between "
                   "follow-ups (the power scenario's rho and rho_followups)",
    "clustering": "ICC 0.05 within IMR groups at follow-up (the power scenario's icc)",
    "missingness": "a visit is attended with log-odds rising 0.3 per SD of better baseline GAF-F "
                   "(missing at random) plus a participant effect of SD 1.5; interviews and "
                   "self-report questionnaires are separate contacts; an instrument is otherwise "
                   "missing completely at random so that counts match Table 3",
    "delivery": "12 % never attend; the others attend each session with a Beta(mean 0.62) "
                "propensity, 25 % stop after ~12 sessions (40 % of those formally withdraw from "
                "IMR); 5 % of sessions cancelled; modules take equal time",
    "fidelity": "group fidelity N(3.75, 0.35) on the 1-5 items at 2-3 occasions; 20 % double-rated",
    "guesses": "65 % 'dont_know'; guesses correct 58 % of the time",
    "registers": "per person-year: admissions 0.4 (NB k 0.6, stays lognormal median 14 days), "
                 "ER visits 0.8 (k 0.5), outpatient contacts 20 (k 3); more with worse baseline "
                 "functioning; no arm effect",
    "status": "no follow-up data -> lost to follow-up (25 % of them withdraw from data "
              "collection instead); deaths 0.6 % per person-year",
}
