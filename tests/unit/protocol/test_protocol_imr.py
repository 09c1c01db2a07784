"""The embedded IMR protocol carries the facts of shared/imr-trial.md."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from trialdesk.protocol import EMBEDDED_PROTOCOL, load_protocol
from trialdesk.protocol.locate import TomlLocator, resolve_path

OUTCOME_SCALES = [
    "gaf_f", "gaf_s", "psp", "panss", "hamd17", "ymrs",
    "audit", "dudit", "mhrm", "ashs", "imrs_client", "imrs_clinician",
]  # fmt: skip


@pytest.fixture(scope="module")
def imr():
    return load_protocol()


def test_identity(imr):
    ids = {r.id for r in imr.trial.registry_ids}
    assert ids == {"NCT01361698", "IMR-DP-228-CT-59", "2010B114"}
    assert imr.trial.target_participants == 200
    assert str(imr.trial.start_date) == "2011-02-28"
    assert imr.trial.masked_roles == ("assessor",)


def test_sites_arms_and_strata(imr):
    assert [(s.code, s.name, s.prefix) for s in imr.sites] == [
        ("BAL", "Ballerup", "BAL"),
        ("FRB", "Frederiksberg", "FRB"),
    ]
    assert [(a.code, a.ratio, a.receives_intervention) for a in imr.arms] == [
        ("IMR", 1, True),
        ("TAU", 1, False),
    ]
    assert [f.code for f in imr.stratification] == ["site", "diagnosis"]
    assert len(imr.strata()) == 4
    assert ("FRB", "bipolar") in imr.strata()
    assert imr.randomisation.method == "permuted_blocks"
    assert imr.randomisation.block_sizes == (2, 4, 6)


def test_eligibility(imr):
    codes = [c.code for c in imr.eligibility]
    assert codes == ["I1", "I2", "I3", "I4", "I5", "E1", "E2", "E3", "E4", "E5", "E6"]
    by_code = {c.code: c for c in imr.eligibility}
    assert by_code["I3"].icd10 == ("F20", "F31")
    assert by_code["I1"].minimum == 18
    assert set(by_code["E2"].icd10) == {f"F0{n}" for n in range(4)} | {f"F7{n}" for n in range(10)}
    assert {c.code for c in imr.eligibility if c.rescreen_allowed} == {"E3", "E5"}
    assert all(c.kind == "exclusion" for c in imr.eligibility if c.code.startswith("E"))


def test_visits_and_instruments(imr):
    assert [(v.code, v.month) for v in imr.visits] == [("baseline", 0), ("m9", 9), ("m21", 21)]
    for visit in imr.visits[1:]:
        assert (visit.window_before_months, visit.window_after_months) == (1, 1)
        assert set(visit.instruments) == {*OUTCOME_SCALES, "csq8"}
    assert set(imr.visit("baseline").instruments) == {*OUTCOME_SCALES, "baseline"}


def test_outcomes(imr):
    primary = imr.primary_outcome
    assert (primary.code, primary.instrument, primary.visits) == ("gaf_f_m9", "gaf_f", ("m9",))
    assert [o.code for o in imr.outcomes if o.role == "primary"] == ["gaf_f_m9"]
    secondary = {(o.instrument, v) for o in imr.outcomes if o.role == "secondary" for v in o.visits}
    for scale in [*OUTCOME_SCALES, "csq8"]:
        assert (scale, "m21") in secondary
        if scale != "gaf_f":
            assert (scale, "m9") in secondary
    registers = {o.measure for o in imr.outcomes if o.source == "register"}
    assert registers == {"admissions", "bed_days", "er_visits", "outpatient_contacts"}


def test_intervention(imr):
    modules = imr.intervention.modules
    assert [m.number for m in modules] == list(range(1, 12))
    assert modules[0].title == "Recovery strategies"
    assert modules[2].title == "The stress–vulnerability model"
    assert modules[10].title == "Getting your needs met in the mental health system"
    assert imr.intervention.participants_per_group == 10
    assert (imr.intervention.facilitators_min, imr.intervention.facilitators_max) == (2, 2)
    assert imr.intervention.session_minutes == 90
    assert imr.intervention.completer_threshold == 0.5


def test_sample_size_and_consent(imr):
    n = imr.sample_size
    assert (n.delta, n.sd, n.alpha, n.power, n.n_per_arm) == (6, 15, 0.05, 0.8, 100)
    assert imr.consent.documents[0].version == "1.0"
    assert {s.code for s in imr.consent.withdrawal_scopes} == {"intervention", "data_collection", "all_data"}


def test_analysis_plan(imr):
    primary = imr.plan_for("gaf_f_m9")
    assert primary.model == "pnm"
    assert primary.adjust_for_baseline
    assert primary.covariates == ("site", "diagnosis")
    assert primary.clustering is not None
    assert primary.clustering.arms == ("IMR",)
    assert (primary.missing_data.method, primary.missing_data.imputations) == ("mi", 50)
    assert set(primary.sensitivity) == {
        "complete_case", "best_worst", "worst_best", "per_protocol", "tipping_point", "cace",
    }  # fmt: skip
    assert primary.estimand.intercurrent_events
    assert imr.plan_for("panss").model == "mmrm"
    register = imr.plan_for("bed_days")
    assert (register.model, register.offset) == ("nb", "follow_up_time")
    assert imr.analysis.multiplicity.secondary == "none"
    assert {s.code for s in imr.analysis.analysis_sets} == {"itt", "per_protocol"}


def test_every_assumed_value_is_marked_in_the_file(imr):
    text = EMBEDDED_PROTOCOL.read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    locator = TomlLocator(text)
    lines = text.splitlines()
    pointed = set()
    for assumption in imr.assumed:
        loc = resolve_path(raw, assumption.field)
        assert loc is not None, assumption.field
        line = locator.line(loc)
        assert line is not None
        assert lines[line - 1].rstrip().endswith("# assumed"), (assumption.field, lines[line - 1])
        pointed.add(line)
    # and no value is marked "# assumed" without an [[assumed]] entry pointing at it
    marked = {n for n, line in enumerate(lines, 1) if line.rstrip().endswith("# assumed")}
    assert marked == pointed


def test_model_is_frozen(imr):
    with pytest.raises(ValidationError):
        imr.trial.code = "X"
