"""CDISC ODM 1.3.2 export, written element by element (SAX) so it streams however large the trial.

Study metadata come from the protocol and the instrument library: one StudyEventDef per visit (plus a
randomisation event), one FormDef per instrument with an item group for its items and one for its
scores, ItemDefs with CodeLists for discrete allowed values and RangeChecks for continuous ones; item
descriptions and decodes carry a TranslatedText in each language of the UI (English, Danish). Clinical
data: one SubjectData per participant with their allocation (a letter when blinded) and every complete
or not-done assessment; free-text items are left out (staff may type identifying details in them). The
ledger becomes AuditRecords (who, where, when, why, what), without old or new values; for blinded
exports, entries about allocation and IMR delivery are left out. Users are named by login only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import IO, Any
from xml.sax.saxutils import XMLGenerator

from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation

from trialdesk.apps.assessments.formspec import localised
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.ledger.visibility import blinded
from trialdesk.apps.trial.models import ProtocolVersion, Site
from trialdesk.apps.trial.services import active_protocol
from trialdesk.instruments import Instrument, get_library
from trialdesk.instruments.schema import Item

from .extract import Extraction

NS = "http://www.cdisc.org/ns/odm/v1.3"
TRIAL_LOCATION = "LOC.TRIAL"
ASSESSMENT_CHUNK = 500


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class Writer:
    def __init__(self, handle: IO[bytes]) -> None:
        self.xml = XMLGenerator(handle, encoding="UTF-8", short_empty_elements=True)

    def start(self, name: str, **attrs: Any) -> None:
        self.xml.startElement(name, {k: str(v) for k, v in attrs.items() if v is not None and v != ""})

    def end(self, name: str) -> None:
        self.xml.endElement(name)

    def empty(self, name: str, **attrs: Any) -> None:
        self.start(name, **attrs)
        self.end(name)

    def text(self, name: str, value: str, **attrs: Any) -> None:
        self.start(name, **attrs)
        self.xml.characters(value)
        self.end(name)

    def translated(self, name: str, texts: str | Mapping[str, str]) -> None:
        """One TranslatedText per language: the UI's languages for an instrument's texts, English alone for
        the export's own words."""
        self.start(name)
        for language, value in ({"en": texts} if isinstance(texts, str) else texts).items():
            self.text("TranslatedText", value, **{"xml:lang": language})
        self.end(name)


def odm_items(instrument: Instrument) -> list[Item]:
    return [item for item in instrument.items if item.kind != "text"]


def _data_type(item: Item) -> str:
    if item.kind in {"choice", "icd10"}:
        return "text"
    values = item.allowed or (item.minimum, item.maximum)
    return "integer" if item.allowed and all(float(v).is_integer() for v in values) else "float"


def _languages(instrument: Instrument) -> dict[str, Instrument]:
    """The instrument's texts in each language of the UI, by language code."""
    versions = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            versions[language] = localised(instrument)
    return versions


def _decode(item: Item, value: float) -> str:
    label = next((a.label for a in item.anchors if a.low <= value <= a.high), "")
    return f"{_number(value)}: {label}" if label else _number(value)


def _metadata(w: Writer, mdv: str, x: Extraction) -> None:
    protocol = active_protocol()
    library = get_library()
    used = list(dict.fromkeys(code for visit in protocol.visits for code in visit.instruments))
    w.start("Protocol")
    w.empty("StudyEventRef", StudyEventOID="SE.randomisation", OrderNumber=1, Mandatory="No")
    for number, visit in enumerate(protocol.visits, start=2):
        w.empty("StudyEventRef", StudyEventOID=f"SE.{visit.code}", OrderNumber=number, Mandatory="Yes")
    w.end("Protocol")
    w.start("StudyEventDef", OID="SE.randomisation", Name="Randomisation", Repeating="No", Type="Scheduled")
    w.empty("FormRef", FormOID="F.randomisation", OrderNumber=1, Mandatory="No")
    w.end("StudyEventDef")
    for visit in protocol.visits:
        w.start("StudyEventDef", OID=f"SE.{visit.code}", Name=visit.label, Repeating="No", Type="Scheduled")
        for number, code in enumerate(visit.instruments, start=1):
            w.empty("FormRef", FormOID=f"F.{code}", OrderNumber=number, Mandatory="No")
        w.end("StudyEventDef")
    w.start("FormDef", OID="F.randomisation", Name="Randomisation", Repeating="No")
    w.empty("ItemGroupRef", ItemGroupOID="IG.randomisation", Mandatory="Yes")
    w.end("FormDef")
    for code in used:
        instrument = library.get(code)
        w.start("FormDef", OID=f"F.{code}", Name=instrument.short_name, Repeating="No")
        w.empty("ItemGroupRef", ItemGroupOID=f"IG.{code}", Mandatory="Yes", OrderNumber=1)
        if instrument.score_names:
            w.empty("ItemGroupRef", ItemGroupOID=f"IG.{code}.scores", Mandatory="No", OrderNumber=2)
        w.end("FormDef")
    w.start("ItemGroupDef", OID="IG.randomisation", Name="Allocation", Repeating="No")
    w.empty("ItemRef", ItemOID="I.randomisation.arm", Mandatory="Yes", OrderNumber=1)
    w.empty("ItemRef", ItemOID="I.randomisation.date", Mandatory="Yes", OrderNumber=2)
    w.end("ItemGroupDef")
    for code in used:
        instrument = library.get(code)
        w.start("ItemGroupDef", OID=f"IG.{code}", Name=f"{instrument.short_name} items", Repeating="No")
        for number, item in enumerate(odm_items(instrument), start=1):
            w.empty("ItemRef", ItemOID=f"I.{code}.{item.code}", Mandatory="No", OrderNumber=number)
        w.end("ItemGroupDef")
        if instrument.score_names:
            w.start(
                "ItemGroupDef",
                OID=f"IG.{code}.scores",
                Name=f"{instrument.short_name} scores",
                Repeating="No",
            )
            for number, score in enumerate(instrument.score_names, start=1):
                w.empty("ItemRef", ItemOID=f"S.{code}.{score}", Mandatory="No", OrderNumber=number)
            w.end("ItemGroupDef")
    _item_defs(w, x, [library.get(code) for code in used])


def _item_defs(w: Writer, x: Extraction, instruments: list[Instrument]) -> None:
    w.start("ItemDef", OID="I.randomisation.arm", Name="arm", DataType="text")
    w.translated("Description", "allocated arm" + (" (blinded letter)" if x.blinded else ""))
    w.empty("CodeListRef", CodeListOID="CL.arm")
    w.end("ItemDef")
    w.start("ItemDef", OID="I.randomisation.date", Name="randomised_on", DataType="date")
    w.translated("Description", "date of randomisation")
    w.end("ItemDef")
    code_lists: list[tuple[str, str, list[tuple[str, dict[str, str]]]]] = []
    for instrument in instruments:
        versions = _languages(instrument)
        for item in odm_items(instrument):
            texts = {language: version.item_map[item.code] for language, version in versions.items()}
            oid = f"I.{instrument.code}.{item.code}"
            w.start("ItemDef", OID=oid, Name=f"{instrument.code}_{item.code}", DataType=_data_type(item))
            w.translated("Description", {language: text.label for language, text in texts.items()})
            if item.numeric and not item.allowed:
                for comparator, bound in (("GE", item.minimum), ("LE", item.maximum)):
                    w.start("RangeCheck", Comparator=comparator, SoftHard="Hard")
                    w.text("CheckValue", _number(bound or 0))
                    w.end("RangeCheck")
            if item.allowed or item.choices:
                w.empty("CodeListRef", CodeListOID=f"CL.{instrument.code}.{item.code}")
                pairs = (
                    [(_number(v), {lang: _decode(text, v) for lang, text in texts.items()})
                     for v in item.allowed]
                    if item.allowed
                    else [(c.code, {lang: text.choices[k].label for lang, text in texts.items()})
                          for k, c in enumerate(item.choices)]
                )  # fmt: skip
                code_lists.append((f"CL.{instrument.code}.{item.code}", _data_type(item), pairs))
            w.end("ItemDef")
        for score in instrument.score_names:
            w.start(
                "ItemDef",
                OID=f"S.{instrument.code}.{score}",
                Name=f"{instrument.code}_{score}",
                DataType="float",
            )
            w.translated("Description", f"{instrument.short_name} {score} (computed)")
            w.end("ItemDef")
    arms = active_protocol().arms
    if x.blinded:
        arm_pairs = sorted((letter, f"Arm {letter}") for arm, letter in x.letters.items())
    else:
        arm_pairs = [(arm.code, arm.label) for arm in arms]
    w.start("CodeList", OID="CL.arm", Name="arm", DataType="text")
    for coded, decode in arm_pairs:
        w.start("CodeListItem", CodedValue=coded)
        w.translated("Decode", decode)
        w.end("CodeListItem")
    w.end("CodeList")
    for oid, data_type, pairs in code_lists:
        w.start("CodeList", OID=oid, Name=oid.removeprefix("CL."), DataType=data_type)
        for coded, decode in pairs:
            w.start("CodeListItem", CodedValue=coded)
            w.translated("Decode", decode)
            w.end("CodeListItem")
        w.end("CodeList")


def _admin(w: Writer, study: str, mdv: str, effective: dt.date, users: list[str]) -> None:
    w.start("AdminData", StudyOID=study)
    for user in users:
        w.start("User", OID=f"USR.{user}")
        w.text("LoginName", user)
        w.end("User")
    for oid, name, kind in [
        (TRIAL_LOCATION, "Trial office", "Sponsor"),
        *((f"LOC.{s.code}", s.name, "Site") for s in Site.objects.order_by("code")),
    ]:
        w.start("Location", OID=oid, Name=name, LocationType=kind)
        w.empty(
            "MetaDataVersionRef", StudyOID=study, MetaDataVersionOID=mdv, EffectiveDate=effective.isoformat()
        )
        w.end("Location")
    w.end("AdminData")


def _assessments(x: Extraction) -> Iterator[tuple[Any, list, list]]:
    """Assessments in subject, visit, instrument order, each with its responses and scores (chunked)."""
    from trialdesk.apps.assessments.models import Assessment, ItemResponse, Score

    library = get_library()
    query = (
        Assessment.objects.filter(status__in=["complete", "not_done"], instrument__in=library.codes())
        .exclude(participant_id__in=x.excluded)
        .select_related("participant__site", "visit")
        .order_by("participant__trial_id", "visit__sequence", "instrument", "id")
    )
    batch: list[Any] = []

    def flush() -> Iterator[tuple[Any, list, list]]:
        ids = [a.pk for a in batch]
        responses: dict[int, list] = {}
        for aid, item, number, text in (
            ItemResponse.objects.filter(assessment_id__in=ids)
            .order_by("id")
            .values_list("assessment_id", "item", "number", "text")
        ):
            responses.setdefault(aid, []).append((item, number, text))
        scores: dict[int, list] = {}
        for aid, name, value in (
            Score.objects.filter(assessment_id__in=ids)
            .order_by("id")
            .values_list("assessment_id", "name", "value")
        ):
            scores.setdefault(aid, []).append((name, value))
        for a in batch:
            yield a, responses.get(a.pk, []), scores.get(a.pk, [])

    for assessment in query.iterator(chunk_size=ASSESSMENT_CHUNK):
        batch.append(assessment)
        if len(batch) >= ASSESSMENT_CHUNK:
            yield from flush()
            batch = []
    yield from flush()


def _form(w: Writer, assessment: Any, responses: list, scores: list) -> None:
    instrument = get_library().get(assessment.instrument)
    kinds = {item.code: item.kind for item in instrument.items}
    w.start("FormData", FormOID=f"F.{assessment.instrument}")
    if assessment.status == "not_done":
        w.start("Annotation", SeqNum=1)
        w.text("Comment", f"not done: {assessment.not_done_reason or 'no reason given'}")
        w.end("Annotation")
    w.start("ItemGroupData", ItemGroupOID=f"IG.{assessment.instrument}")
    for item, number, text in responses:
        if kinds.get(item) in (None, "text"):
            continue
        value = _number(number) if number is not None else text
        w.empty("ItemData", ItemOID=f"I.{assessment.instrument}.{item}", Value=value)
    w.end("ItemGroupData")
    if scores:
        w.start("ItemGroupData", ItemGroupOID=f"IG.{assessment.instrument}.scores")
        for name, value in scores:
            if value is None:
                w.empty("ItemData", ItemOID=f"S.{assessment.instrument}.{name}", IsNull="Yes")
            else:
                w.empty("ItemData", ItemOID=f"S.{assessment.instrument}.{name}", Value=_number(value))
        w.end("ItemGroupData")
    w.end("FormData")


def _clinical(w: Writer, x: Extraction) -> None:
    from trialdesk.apps.participants.models import Participant
    from trialdesk.apps.randomisation.models import Allocation

    allocations = dict(Allocation.objects.values_list("participant_id", "arm"))
    dates = {
        pid: timezone.localdate(at)
        for pid, at in Allocation.objects.values_list("participant_id", "allocated_at")
    }
    subjects = Participant.objects.filter(Q(pk__in=allocations) | Q(assessments__isnull=False)).distinct()
    order = {p.pk: p for p in subjects.select_related("site").order_by("trial_id")}
    assessments = _assessments(x)
    pending = next(assessments, None)
    for pid, person in order.items():
        w.start("SubjectData", SubjectKey=person.trial_id)
        w.empty("SiteRef", LocationOID=f"LOC.{person.site.code}")
        if pid in allocations and pid not in x.excluded:
            w.start("StudyEventData", StudyEventOID="SE.randomisation")
            w.start("FormData", FormOID="F.randomisation")
            w.start("ItemGroupData", ItemGroupOID="IG.randomisation")
            w.empty("ItemData", ItemOID="I.randomisation.arm", Value=x.arm(allocations[pid]))
            w.empty("ItemData", ItemOID="I.randomisation.date", Value=dates[pid].isoformat())
            w.end("ItemGroupData")
            w.end("FormData")
            w.end("StudyEventData")
        visit = None
        while pending is not None and pending[0].participant_id == pid:
            assessment = pending[0]
            if assessment.visit.code != visit:
                if visit is not None:
                    w.end("StudyEventData")
                visit = assessment.visit.code
                w.start("StudyEventData", StudyEventOID=f"SE.{visit}")
            _form(w, *pending)
            pending = next(assessments, None)
        if visit is not None:
            w.end("StudyEventData")
        w.end("SubjectData")


def _audit(w: Writer, x: Extraction) -> None:
    entries = LedgerEntry.objects.order_by("seq")
    if x.blinded:
        entries = blinded(entries)  # the ledger's one rule for what reveals allocation
    w.start("AuditRecords")
    for seq, at, actor, action, entity, entity_id, field, reason, site in entries.values_list(
        "seq", "at", "actor", "action", "entity", "entity_id", "field", "reason", "site"
    ).iterator(chunk_size=5000):
        w.start("AuditRecord", ID=f"AR.{seq}")
        w.empty("UserRef", UserOID=f"USR.{actor}")
        w.empty("LocationRef", LocationOID=f"LOC.{site}" if site else TRIAL_LOCATION)
        w.text("DateTimeStamp", at.astimezone(dt.UTC).isoformat())
        if reason:
            w.text("ReasonForChange", reason)
        w.text(
            "SourceID", " ".join(part for part in (f"ledger#{seq}", action, entity, entity_id, field) if part)
        )
        w.end("AuditRecord")
    w.end("AuditRecords")


def write_odm(handle: IO[bytes], x: Extraction, as_of: dt.datetime) -> None:
    protocol = active_protocol()
    version = ProtocolVersion.objects.get(active=True)
    study, mdv = f"ST.{protocol.trial.code}", f"MDV.{version.content_hash[:12]}"
    stamp = as_of.astimezone(dt.UTC).isoformat()
    ledger = LedgerEntry.objects.all() if not x.blinded else blinded(LedgerEntry.objects.all())
    users = sorted(set(ledger.values_list("actor", flat=True)))
    w = Writer(handle)
    w.xml.startDocument()
    w.start(
        "ODM",
        xmlns=NS,
        FileType="Snapshot",
        Granularity="All",
        FileOID=f"trialdesk.{protocol.trial.code}.{stamp}",
        CreationDateTime=stamp,
        AsOfDateTime=stamp,
        ODMVersion="1.3.2",
        Originator="trialdesk",
        SourceSystem="trialdesk",
    )
    w.start("Study", OID=study)
    w.start("GlobalVariables")
    w.text("StudyName", protocol.trial.short_title)
    w.text("StudyDescription", protocol.trial.title)
    w.text("ProtocolName", f"{protocol.trial.code} protocol {protocol.trial.protocol_version}")
    w.end("GlobalVariables")
    w.start(
        "MetaDataVersion",
        OID=mdv,
        Name=f"protocol {protocol.trial.protocol_version}",
        Description=f"protocol hash {version.content_hash}",
    )
    _metadata(w, mdv, x)
    w.end("MetaDataVersion")
    w.end("Study")
    _admin(w, study, mdv, timezone.localdate(version.loaded_at), users)
    w.start("ClinicalData", StudyOID=study, MetaDataVersionOID=mdv)
    _clinical(w, x)
    _audit(w, x)
    w.end("ClinicalData")
    w.end("ODM")
    w.xml.endDocument()
