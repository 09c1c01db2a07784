"""Each check: a broken copy of the IMR protocol gives the exact code, path and line, via the CLI."""

from __future__ import annotations

import tomllib

import pytest

from trialdesk.cli import main
from trialdesk.protocol import EMBEDDED_PROTOCOL, ProtocolProblems, load_protocol, parse_protocol

IMR = EMBEDDED_PROTOCOL.read_text(encoding="utf-8")

# (id, code, path, text to replace, replacement, text whose line the problem must name or None)
CASES = [
    ("toml-syntax", "P001", "(document)", "target_participants = 200", "target_participants = ",
     "target_participants = "),
    ("unknown-key", "P002", "trial.short_titel", "short_title =", "short_titel =", "short_titel ="),
    ("unknown-top-key", "P002", "visit", "schema_version = 1", "schema_version = 1\nvisit = 3", "visit = 3"),
    ("missing-field", "P003", "trial.sponsor", 'sponsor = "Mental Health Centre Copenhagen, Bispebjerg and '
     'Frederiksberg Hospital"\n', "", "[trial]"),
    ("wrong-type", "P004", "trial.target_participants", "target_participants = 200",
     'target_participants = "many"', "target_participants ="),
    ("bad-literal", "P004", "intervention.session_frequency", 'session_frequency = "weekly"',
     'session_frequency = "daily"', "session_frequency ="),
    ("dup-site", "P010", "sites[1].code", 'code = "FRB"', 'code = "BAL"', 'code = "BAL"\nname = "Fred'),
    ("dup-prefix", "P010", "sites[1].prefix", 'prefix = "FRB"', 'prefix = "BAL"',
     'prefix = "BAL"\nrecruitment_target = 100  # assumed\n\n[[arms]]'),
    ("dup-arm", "P010", "arms[1].code", 'code = "TAU"', 'code = "IMR"', 'code = "IMR"\nlabel = "Treatment'),
    ("dup-criterion", "P010", "eligibility[10].code", 'code = "E6"', 'code = "E5"',
     'code = "E5"\nkind = "exclusion"\ntext = "no consent"'),
    ("dup-visit", "P010", "visits[2].code", 'code = "m21"', 'code = "m9"', 'code = "m9"\nlabel = "Follow-up'),
    ("dup-outcome", "P010", "outcomes[3].code", 'code = "psp"', 'code = "gaf_s"',
     'code = "gaf_s"\nlabel = "Personal'),
    ("dup-module", "P010", "intervention.modules[9].code", 'code = "coping_problems"',
     'code = "coping_stress"', '{ number = 10'),
    ("dup-instrument", "P010", "visits[0].instruments[12]", '"imrs_clinician", "baseline"',
     '"imrs_clinician", "gaf_f"', '"imrs_clinician", "gaf_f"'),
    ("unknown-instrument-outcome", "P011", "outcomes[9].instrument", 'instrument = "mhrm"',
     'instrument = "mhrn"', 'instrument = "mhrn"'),
    ("unknown-instrument-visit", "P011", "visits[0].instruments[12]", '"imrs_clinician", "baseline"',
     '"imrs_clinician", "basline"', '"imrs_clinician", "basline"'),
    ("overlapping-windows", "P012", "visits[1].window_after_months", "window_after_months = 1  # assumed",
     "window_after_months = 13", "window_after_months = 13"),
    ("visit-order", "P012", "visits[2].month", "month = 21", "month = 5", "month = 5"),
    ("zero-ratio", "P014", "arms[0].ratio", "ratio = 1", "ratio = 0", "ratio = 0"),
    ("negative-ratio", "P014", "arms[1].ratio", "ratio = 1\nreceives_intervention = false",
     "ratio = -2\nreceives_intervention = false", "ratio = -2"),
    ("strata-without-levels", "P015", "stratification[1].levels",
     'levels = [\n  { code = "schizophrenia", label = "Schizophrenia", icd10 = ["F20"] },\n'
     '  { code = "bipolar", label = "Bipolar affective disorder", icd10 = ["F31"] },\n]',
     "levels = []", "levels = []"),
    ("site-levels-not-sites", "P015", "stratification[0].levels", 'source = "site"',
     'source = "site"\nlevels = [{ code = "XYZ", label = "Nowhere" }]', "levels = [{ code = \"XYZ\""),
    ("level-outside-criterion", "P015", "stratification[1].levels[1].icd10[0]", 'icd10 = ["F31"] }',
     'icd10 = ["F32"] }', 'icd10 = ["F32"] }'),
    ("unknown-criterion", "P016", "stratification[1].criterion", 'criterion = "I3"', 'criterion = "I9"',
     'criterion = "I9"'),
    ("unknown-covariate", "P016", "analysis.plans[0].covariates[1]",
     'covariates = ["site", "diagnosis"]\nsensitivity = ["complete_case", "best_worst"',
     'covariates = ["site", "diagnoses"]\nsensitivity = ["complete_case", "best_worst"',
     'covariates = ["site", "diagnoses"]'),
    ("unknown-analysis-set", "P016", "analysis.plans[0].analysis_set", 'analysis_set = "itt"',
     'analysis_set = "ittt"', 'analysis_set = "ittt"'),
    ("unknown-cluster-arm", "P016", "analysis.plans[0].clustering.arms[0]", 'arms = ["IMR"]',
     'arms = ["IRM"]', 'arms = ["IRM"]'),
    ("missing-visit", "P017", "outcomes[0].visits[0]", 'visits = ["m9"]', 'visits = ["m12"]',
     'visits = ["m12"]'),
    ("unknown-score", "P018", "outcomes[4].score", 'instrument = "panss"\nscore = "total"',
     'instrument = "panss"\nscore = "positiv"', 'score = "positiv"'),
    ("instrument-not-at-visit", "P019", "outcomes[11].visits[0]",
     'instrument = "csq8"\nscore = "total"\nvisits = ["m9", "m21"]',
     'instrument = "csq8"\nscore = "total"\nvisits = ["baseline", "m21"]', 'visits = ["baseline", "m21"]'),
    ("no-primary", "P020", "outcomes", 'role = "primary"', 'role = "secondary"', "[[outcomes]]"),
    ("two-primaries", "P020", "outcomes[1].role", 'role = "secondary"', 'role = "primary"',
     'role = "primary"\ndomain = "functioning"\ninstrument = "gaf_f"\nscore = "total"\nvisits = ["m21"]'),
    ("intervention-arm-unknown", "P021", "intervention.arm", 'arm = "IMR"', 'arm = "IRM"', 'arm = "IRM"'),
    ("intervention-arm-not-receiving", "P021", "intervention.arm", "receives_intervention = true",
     "receives_intervention = false", 'arm = "IMR"'),
    ("module-order", "P022", "intervention.modules[2].number", "{ number = 3,", "{ number = 4,",
     '{ number = 4, code = "stress'),
    ("assumed-path", "P023", "assumed[17].field", 'field = "sample_size.sd"', 'field = "sample_size.sdd"',
     'field = "sample_size.sdd"'),
    ("block-size", "P024", "randomisation.block_sizes[1]", "block_sizes = [2, 4, 6]",
     "block_sizes = [2, 3, 6]", "block_sizes = [2, 3, 6]"),
    ("no-blocks", "P024", "randomisation.block_sizes", "block_sizes = [2, 4, 6]", "block_sizes = []",
     "block_sizes = []"),
    ("register-with-instrument", "P025", "outcomes[14].instrument", 'measure = "admissions"',
     'measure = "admissions"\ninstrument = "gaf_f"', 'instrument = "gaf_f"\nvisits'),
    ("outcome-in-two-plans", "P026", "outcomes[3].code", 'outcomes = ["csq8"]', 'outcomes = ["csq8", "psp"]',
     'code = "psp"'),
    ("bad-icd10", "P027", "eligibility[2].icd10[1]", 'icd10 = ["F20", "F31"]', 'icd10 = ["F20", "schizo"]',
     'icd10 = ["F20", "schizo"]'),
    ("boolean-without-answer", "P027", "eligibility[1].answer_type",
     'CMHCs"\nanswer_type = "boolean"\nqualifying_answer = true\n', 'CMHCs"\nanswer_type = "boolean"\n',
     'answer_type = "boolean"\n\n'),
    ("baseline-adjust-without-baseline", "P028", "analysis.plans[2].outcomes[0]",
     'adjust_for_baseline = false\ncovariates = ["site", "diagnosis"]\nsensitivity = ["complete_case"]',
     'adjust_for_baseline = true\ncovariates = ["site", "diagnosis"]\nsensitivity = ["complete_case"]',
     'outcomes = ["csq8"]'),
    ("hierarchical-without-order", "P029", "analysis.multiplicity.order", 'secondary = "none"  # assumed',
     'secondary = "hierarchical"', "[analysis.multiplicity]"),
    ("dates-reversed", "P030", "trial.completion_date", "completion_date = 2014-12-31",
     "completion_date = 2010-12-31", "completion_date ="),
    ("pnm-without-clustering", "P031", "analysis.plans[0].clustering",
     '[analysis.plans.clustering]\nunit = "imr_group"\narms = ["IMR"]\n', "",
     '[[analysis.plans]]\ncode = "primary"'),
]  # fmt: skip


def _line_of(text: str, anchor: str) -> int:
    assert text.count(anchor) >= 1, anchor
    return text[: text.index(anchor)].count("\n") + 1


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_check_reports_code_path_and_line(capsys, tmp_path, case):
    _, code, path, old, new, anchor = case
    assert old in IMR, old
    text = IMR.replace(old, new, 1)
    line = _line_of(text, anchor)
    file = tmp_path / "protocol.toml"
    file.write_text(text, encoding="utf-8")
    status = main(["protocol", "check", str(file)])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert "Traceback" not in err
    expected = f"error: {code} {path}: "
    matching = [problem for problem in err.splitlines() if problem.startswith(expected)]
    assert matching, err
    assert matching[0].endswith(f"(line {line})"), (matching[0], line)


def _problems(text: str) -> list[str]:
    with pytest.raises(ProtocolProblems) as caught:
        parse_protocol(text)
    return caught.value.problems


def test_unknown_key_suggests_the_field():
    (problem,) = [p for p in _problems(IMR.replace("short_title =", "short_titel =")) if p.startswith("P002")]
    assert "did you mean 'short_title'?" in problem


def test_unknown_instrument_suggests_a_close_code():
    problems = _problems(IMR.replace('instrument = "mhrm"', 'instrument = "mhrn"'))
    line = _line_of(IMR, 'instrument = "mhrm"')
    assert problems == [
        f"P011 outcomes[9].instrument: unknown instrument 'mhrn' (did you mean 'mhrm'?) (line {line})"
    ]


def test_overlap_message_names_the_other_visit():
    problems = _problems(IMR.replace("window_after_months = 1  # assumed", "window_after_months = 13", 1))
    assert len(problems) == 1
    assert "overlaps visit m21" in problems[0]


def test_schema_and_cross_problems_are_reported_together():
    text = IMR.replace("short_title =", "short_titel =").replace("ratio = 1", "ratio = 0", 1)
    text = text.replace('visits = ["m9"]', 'visits = ["m12"]')
    codes = [problem.split()[0] for problem in _problems(text)]
    assert sorted(codes) == ["P002", "P003", "P014", "P017"]


def test_failed_section_skips_checks_that_need_it():
    # a type error inside visits must not crash the checks that read visits
    problems = _problems(IMR.replace("month = 9", 'month = "nine"'))
    assert [p.split()[:2] for p in problems] == [["P004", "visits[1].month:"]]


def test_problems_are_in_file_order():
    text = IMR.replace("completion_date = 2014-12-31", "completion_date = 2010-12-31")
    text = text.replace("ratio = 1", "ratio = 0", 1)
    problems = _problems(text)
    lines = [int(p.rsplit("(line ", 1)[1].rstrip(")")) for p in problems]
    assert lines == sorted(lines)
    assert len(problems) == 2


def test_not_utf8_is_p001(tmp_path):
    file = tmp_path / "latin1.toml"
    file.write_bytes(IMR.encode("utf-8").replace(b"Frederiksberg Hospital", "Fr\xe6d".encode("latin-1")))
    with pytest.raises(ProtocolProblems) as caught:
        load_protocol(file)
    assert caught.value.problems == [
        f"P001 (document): file is not UTF-8 text (line {_line_of(IMR, 'sponsor =')})"
    ]


def test_every_case_uses_a_documented_code():
    from trialdesk.protocol import CODES

    assert {case[1] for case in CASES} == set(CODES)


def test_assumed_index_in_case_is_right():
    raw = tomllib.loads(IMR)
    fields = [a["field"] for a in raw["assumed"]]
    assert fields.index("sample_size.sd") == 17
