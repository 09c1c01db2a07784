"""The CDISC ODM 1.3.2 export validates against the official ODM 1.3.2 XML schema.

The schema files (ODM1-3-2.xsd, ODM1-3-2-foundation.xsd and the W3C xml/xmldsig schemas they import) are
CDISC's as distributed inside the ``odmlib`` package on PyPI (a dev dependency), so the test reads them
from the installed package rather than keeping a copy. XSD validation does not check that references
point somewhere (ODM 1.3.2 declares no key references), so the test checks every OID reference too.
"""

import importlib.resources
from pathlib import Path

import pytest
from lxml import etree

import snapshots_support as trial
from enrolment_support import TEST_KEY
from trialdesk.apps.participants import keys
from trialdesk.apps.snapshots.export import export
from trialdesk.instruments import get_library

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key", "data_dir")]
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setenv(keys.ENV_KEY, TEST_KEY)
        data = trial.build()
        data["blinded"] = trial.export_user("dorte")
        data["unblinded"] = trial.export_user("ivan", unblinded=True)
    yield data
    with django_db_blocker.unblock():
        trial.wipe()


@pytest.fixture(scope="module")
def schema():
    path = Path(str(importlib.resources.files("odmlib") / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"))
    return etree.XMLSchema(etree.parse(str(path)))


def _odm(tmp_path, user):
    export("odm", tmp_path, user=user)
    return etree.parse(str(tmp_path / "trialdesk-odm.xml"))


@pytest.mark.parametrize("who", ["unblinded", "blinded"])
def test_the_odm_export_validates_against_the_odm_1_3_2_schema(built, tmp_path, schema, who):
    document = _odm(tmp_path, built[who])
    assert schema.validate(document), schema.error_log.filter_from_errors()
    root = document.getroot()
    assert root.get("ODMVersion") == "1.3.2" and root.get("FileType") == "Snapshot"


def test_a_broken_document_fails_the_same_schema(built, tmp_path, schema):
    # The schema is really checking: an ItemData without its ItemOID is refused.
    document = _odm(tmp_path, built["unblinded"])
    item = document.getroot().find(".//odm:ItemData", NS)
    del item.attrib["ItemOID"]
    assert not schema.validate(document)


def _defined(root, element):
    return {e.get("OID") for e in root.iterfind(f".//odm:{element}", NS)}


def test_every_reference_points_to_a_definition(built, tmp_path):
    root = _odm(tmp_path, built["unblinded"]).getroot()
    pairs = [
        ("StudyEventRef", "StudyEventOID", "StudyEventDef"), ("FormRef", "FormOID", "FormDef"),
        ("ItemGroupRef", "ItemGroupOID", "ItemGroupDef"), ("ItemRef", "ItemOID", "ItemDef"),
        ("CodeListRef", "CodeListOID", "CodeList"), ("StudyEventData", "StudyEventOID", "StudyEventDef"),
        ("FormData", "FormOID", "FormDef"), ("ItemGroupData", "ItemGroupOID", "ItemGroupDef"),
        ("ItemData", "ItemOID", "ItemDef"), ("UserRef", "UserOID", "User"),
        ("LocationRef", "LocationOID", "Location"), ("SiteRef", "LocationOID", "Location"),
    ]  # fmt: skip
    for element, attribute, definition in pairs:
        used = {e.get(attribute) for e in root.iterfind(f".//odm:{element}", NS)}
        assert used, element
        assert used <= _defined(root, definition), (element, used - _defined(root, definition))


def test_metadata_follow_the_protocol_and_the_instruments(built, tmp_path):
    root = _odm(tmp_path, built["unblinded"]).getroot()
    events = [e.get("OID") for e in root.iterfind(".//odm:StudyEventDef", NS)]
    assert events == ["SE.randomisation", "SE.baseline", "SE.m9", "SE.m21"]
    panss = root.find(".//odm:ItemGroupDef[@OID='IG.panss']", NS)
    assert len(panss.findall("odm:ItemRef", NS)) == 30
    p1 = root.find(".//odm:CodeList[@OID='CL.panss.P1']", NS)
    assert [i.get("CodedValue") for i in p1.findall("odm:CodeListItem", NS)] == [str(v) for v in range(1, 8)]
    hamd = get_library().get("hamd17")
    assert root.find(f".//odm:ItemDef[@OID='I.hamd17.{hamd.items[0].code}']", NS).get("DataType") == "integer"
    arms = [i.get("CodedValue") for i in root.find(".//odm:CodeList[@OID='CL.arm']", NS)]
    assert arms == ["IMR", "TAU"]


def _texts(element) -> dict[str, str]:
    return {t.get("{http://www.w3.org/XML/1998/namespace}lang"): t.text
            for t in element.iterfind("odm:TranslatedText", NS)}  # fmt: skip


def test_instrument_texts_are_given_in_english_and_danish(built, tmp_path):
    root = _odm(tmp_path, built["unblinded"]).getroot()
    p1 = root.find(".//odm:ItemDef[@OID='I.panss.P1']/odm:Description", NS)
    assert _texts(p1) == {"en": "Delusions", "da": "Vrangforestillinger"}
    decodes = root.findall(".//odm:CodeList[@OID='CL.panss.P1']/odm:CodeListItem/odm:Decode", NS)
    assert _texts(decodes[0]) == {"en": "1: absent", "da": "1: fraværende"}
    sex = root.findall(".//odm:CodeList[@OID='CL.baseline.sex']/odm:CodeListItem", NS)
    assert [(i.get("CodedValue"), _texts(i.find("odm:Decode", NS))) for i in sex] == [
        ("female", {"en": "Female", "da": "Kvinde"}), ("male", {"en": "Male", "da": "Mand"})]  # fmt: skip
    # The export's own words stay English only.
    arm = root.find(".//odm:ItemDef[@OID='I.randomisation.arm']/odm:Description", NS)
    assert _texts(arm) == {"en": "allocated arm"}


def test_clinical_data_carry_the_entered_values_and_the_audit_trail(built, tmp_path):
    from trialdesk.apps.assessments.models import Assessment
    from trialdesk.apps.ledger.models import LedgerEntry

    root = _odm(tmp_path, built["unblinded"]).getroot()
    subjects = root.findall(".//odm:SubjectData", NS)
    assert sorted(s.get("SubjectKey") for s in subjects) == sorted(built["arms"])
    first = built["people"][0]
    gaf = Assessment.objects.get(participant=first, visit__code="m9", instrument="gaf_f")
    subject = root.find(f".//odm:SubjectData[@SubjectKey='{first.trial_id}']", NS)
    values = {
        i.get("ItemOID"): i.get("Value")
        for i in subject.find("odm:StudyEventData[@StudyEventOID='SE.m9']", NS).iterfind(
            ".//odm:ItemData", NS
        )
    }
    for response in gaf.responses.all():
        assert values[f"I.gaf_f.{response.item}"] == str(response.value)
    not_done = root.find(".//odm:FormData/odm:Annotation/odm:Comment", NS)
    assert not_done.text == "not done: participant refused the interview"
    records = root.findall(".//odm:AuditRecords/odm:AuditRecord", NS)
    # The export's own ledger entry is appended after the file is written.
    assert len(records) == LedgerEntry.objects.count() - 1
    assert records[0].get("ID") == "AR.1"
