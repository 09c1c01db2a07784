"""The analysis tables of :mod:`trialdesk.datasets`, read from the live database in chunks.

One function per table, each yielding frames whose columns, types and order are the table's. Large
tables (items, scores) are read with ``values_list().iterator()`` and yielded a chunk at a time, so a
writer that streams them keeps memory flat; small ones come as one frame.

Blinded extraction (for blinded roles and blinded snapshots): arms and guessed arms become the trial's
fixed letters (:mod:`.letters`); the ``dose`` table is left out and ``group_id`` emptied, because only
the intervention arm has them and they would tell which letter it is; a withdrawal from the intervention
alone is not shown, for the same reason. Participants who withdrew consent to any use of their data
(scope with ``analysis`` in :data:`trialdesk.apps.consent.scopes.STOPS`) keep their row in participants,
screening and status_events (CONSORT counts them) but none of their data is extracted. No identifying
data are ever read: the key table is not touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd
from django.utils import timezone

from trialdesk import datasets
from trialdesk.apps.consent.scopes import STOPS
from trialdesk.instruments import get_library

from .letters import arm_letters

CHUNK = 50_000
_PANDAS_TYPES = {"int": "Int64", "float": "float64", "bool": "boolean", "string": "object", "date": "object"}


def frame(name: str, rows: list[tuple] | list[dict]) -> pd.DataFrame:
    """Rows (tuples in column order, or dicts) as a frame typed by the dataset declaration."""
    table = datasets.TABLES[name]
    out = (
        pd.DataFrame.from_records(rows, columns=table.column_names)
        if rows
        else pd.DataFrame({c: pd.Series([], dtype=object) for c in table.column_names})
    )
    for column in table.columns:
        wanted = _PANDAS_TYPES[column.dtype]
        if wanted == "object":
            out[column.name] = out[column.name].astype(object).where(out[column.name].notna(), None)
        else:
            out[column.name] = out[column.name].astype(wanted)
    return out


@dataclass
class Extraction:
    """What one extraction reads with: blinded or not, and the fixed arm letters."""

    blinded: bool
    chunk_size: int = CHUNK
    letters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.blinded and not self.letters:
            self.letters = arm_letters()

    @property
    def tables(self) -> list[str]:
        return [name for name in datasets.TABLES if not (self.blinded and name == "dose")]

    def arm(self, code: str | None) -> str | None:
        if code is None or not self.blinded:
            return code
        return self.letters.get(code, code)

    @cached_property
    def excluded(self) -> set[int]:
        """Participant ids whose data may not be used at all (withdrawal of consent to any use)."""
        from trialdesk.apps.consent.models import Withdrawal

        scopes = [scope for scope, stops in STOPS.items() if "analysis" in stops]
        return set(Withdrawal.objects.filter(scope__in=scopes).values_list("participant_id", flat=True))

    def chunks(self, name: str) -> Iterator[pd.DataFrame]:
        if name not in self.tables:
            raise ValueError(f"table {name} is not part of this extraction")
        yield from EXTRACTORS[name](self)

    def table(self, name: str) -> pd.DataFrame:
        parts = list(self.chunks(name))
        whole = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return datasets.check(name, whole)


def _local(moment) -> object:
    return timezone.localdate(moment) if moment is not None else None


def screening(x: Extraction) -> Iterator[pd.DataFrame]:
    from trialdesk.apps.consent.models import ConsentRecord, Decline
    from trialdesk.apps.screening.models import Screening

    consented = set(ConsentRecord.objects.values_list("participant_id", flat=True))
    declined = dict(Decline.objects.values_list("participant_id", "category"))
    rows = []
    for pk, site, on, verdict, reasons, again, pid, trial_id in Screening.objects.order_by("pk").values_list(
        "pk",
        "site__code",
        "screened_on",
        "verdict",
        "reasons",
        "rescreen_of_id",
        "participant_id",
        "participant__trial_id",
    ):
        eligible = verdict == "eligible"
        rows.append(
            (
                str(pk),
                site,
                on,
                eligible,
                ";".join(r["code"] for r in reasons) or None,
                str(again) if again else None,
                eligible and pid in consented,
                declined.get(pid) if eligible else None,
                trial_id,
            )
        )
    yield frame("screening", rows)


def participants(x: Extraction) -> Iterator[pd.DataFrame]:
    from trialdesk.apps.assessments.models import Visit
    from trialdesk.apps.assessments.queries import baseline_characteristics
    from trialdesk.apps.consent.models import ConsentRecord, Withdrawal
    from trialdesk.apps.intervention.models import GroupMembership
    from trialdesk.apps.participants.models import Participant
    from trialdesk.apps.randomisation.models import Allocation
    from trialdesk.apps.randomisation.strata import levels_of
    from trialdesk.apps.trial.services import active_protocol

    protocol = active_protocol()
    factor = next((f.code for f in protocol.stratification if f.source == "criterion"), None)
    people = Participant.objects.filter(pk__in=ConsentRecord.objects.values("participant_id"))
    people = people.select_related("site").order_by("trial_id")
    allocations = {a.participant_id: a for a in Allocation.objects.all()}
    baseline = {row.trial_id: row for row in baseline_characteristics(people)}
    visits = dict(
        Visit.objects.filter(month=0, done_on__isnull=False).values_list("participant_id", "done_on")
    )
    # The latest placement wins (dict keeps the last value per participant).
    memberships = GroupMembership.objects.order_by("placed_on", "id").values_list(
        "participant_id", "group_id"
    )
    groups: dict[int, int] = {} if x.blinded else dict(memberships)
    hidden = {scope for scope, stops in STOPS.items() if stops <= {"intervention"}} if x.blinded else set()
    withdrawals: dict[int, tuple] = {}
    for pid, on, scope in Withdrawal.objects.order_by("withdrawn_on", "id").values_list(
        "participant_id", "withdrawn_on", "scope"
    ):
        if scope not in hidden:
            withdrawals[pid] = (on, scope)
    rows = []
    for person in people:
        allocation = allocations.get(person.pk)
        if allocation is not None and factor:
            level = dict(part.split("=", 1) for part in allocation.stratum.split("|")).get(factor)
        else:
            level = levels_of(person, protocol).get(factor, "") if factor else ""
        values = baseline[person.trial_id].values if person.trial_id in baseline else {}
        base = baseline.get(person.trial_id)
        withdrawn = withdrawals.get(person.pk, (None, None))
        rows.append(
            {
                "trial_id": person.trial_id,
                "site": person.site.code,
                "diagnosis": level,
                "arm": x.arm(allocation.arm) if allocation else None,
                "randomised_on": _local(allocation.allocated_at) if allocation else None,
                "baseline_on": visits.get(person.pk) or (base.assessed_on if base else None),
                "status": person.status,
                "age": values.get("age"),
                "sex": values.get("sex"),
                "icd10": values.get("diagnosis"),
                "years_since_first_contact": values.get("years_since_first_contact"),
                "education": values.get("education"),
                "employment": values.get("employment"),
                "living": values.get("living_situation"),
                "group_id": str(groups[person.pk]) if person.pk in groups else None,
                "withdrawn_on": withdrawn[0],
                "withdrawal_scope": withdrawn[1],
            }
        )
    yield frame("participants", rows)


def status_events(x: Extraction) -> Iterator[pd.DataFrame]:
    from trialdesk.apps.participants.models import StatusEvent
    from trialdesk.apps.screening.models import Screening

    latest = dict(Screening.objects.order_by("screened_on", "id").values_list("participant_id", "pk"))
    rows = [
        (
            trial_id,
            str(latest[pid]) if pid in latest else None,
            before or None,
            after,
            _local(at),
            reason or None,
        )
        for pid, trial_id, before, after, at, reason in StatusEvent.objects.order_by("at", "id").values_list(
            "participant_id", "participant__trial_id", "from_state", "to_state", "at", "reason"
        )
    ]
    yield frame("status_events", rows)


def _scored_instruments() -> list[str]:
    return [instrument.code for instrument in get_library() if instrument.score_names]


def scores(x: Extraction) -> Iterator[pd.DataFrame]:
    from trialdesk.apps.assessments.models import Assessment, Score

    query = (
        Score.objects.filter(assessment__status="complete", assessment__instrument__in=_scored_instruments())
        .exclude(assessment__participant_id__in=x.excluded)
        .order_by("assessment_id", "id")
        .values_list(
            "assessment__participant__trial_id",
            "assessment__visit__code",
            "assessment__instrument",
            "name",
            "value",
            "assessment__assessed_on",
            "assessment__visit__opens",
            "assessment__visit__closes",
        )
    )
    rows: list[tuple] = []
    for trial_id, visit, instrument, name, value, on, opens, closes in query.iterator(
        chunk_size=x.chunk_size
    ):
        inside = None if on is None or opens is None or closes is None else opens <= on <= closes
        rows.append((trial_id, visit, instrument, name, value, on, inside, None))
        if len(rows) >= x.chunk_size:
            yield frame("scores", rows)
            rows = []
    library = get_library()
    not_done = (
        Assessment.objects.filter(status="not_done", instrument__in=_scored_instruments())
        .exclude(participant_id__in=x.excluded)
        .order_by("id")
        .values_list("participant__trial_id", "visit__code", "instrument", "not_done_reason")
    )
    for trial_id, visit, instrument, reason in not_done:
        rows.extend(
            (trial_id, visit, instrument, name, None, None, None, reason or "not done")
            for name in library.get(instrument).score_names
        )
    yield frame("scores", rows)


def items(x: Extraction) -> Iterator[pd.DataFrame]:
    """Numeric item responses of complete assessments of scored instruments (typed forms such as the
    baseline characteristics are in ``participants``; their free text never leaves the database).

    The hot path of large exports (bench/bench_export.py). Assessments (one per 10-30 responses) are read
    first into a small map; the responses are then scanned alone, straight from the cursor (the ORM
    writes the SQL), instead of joining three tables for every row and building each row through the
    queryset iterator: that halved the time of a million-row export.
    """
    from django.db import connection

    from trialdesk.apps.assessments.models import Assessment, ItemResponse

    wanted = (
        Assessment.objects.filter(status="complete", instrument__in=_scored_instruments())
        .exclude(participant_id__in=x.excluded)
        .values_list("pk", "participant__trial_id", "visit__code", "instrument")
    )
    keys = pd.DataFrame.from_records(
        list(wanted.iterator(chunk_size=x.chunk_size)), columns=["pk", "trial_id", "visit", "instrument"]
    ).set_index("pk")
    query = (
        ItemResponse.objects.filter(number__isnull=False)
        .order_by("assessment_id", "id")
        .values_list("assessment_id", "item", "number")
    )
    sql, params = query.query.sql_with_params()
    found = False
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(x.chunk_size):
            chunk = _items_frame(rows, keys)
            if len(chunk):
                found = True
                yield chunk
    if not found:
        yield _items_frame([], keys)  # an empty table still gets its header


def _items_frame(rows: list[tuple], keys: pd.DataFrame) -> pd.DataFrame:
    """Responses (assessment id, item, value) joined to their assessment's keys, vectorised."""
    raw = pd.DataFrame.from_records(rows, columns=["assessment", "item", "value"])
    raw = raw[raw["assessment"].isin(keys.index)]
    at = keys.index.get_indexer(raw["assessment"])
    return pd.DataFrame(
        {
            "trial_id": keys["trial_id"].to_numpy(dtype=object)[at],
            "visit": keys["visit"].to_numpy(dtype=object)[at],
            "instrument": keys["instrument"].to_numpy(dtype=object)[at],
            "item": raw["item"].to_numpy(dtype=object),
            "value": raw["value"].to_numpy(dtype="float64"),
        }
    )


def dose(x: Extraction) -> Iterator[pd.DataFrame]:
    from trialdesk.apps.intervention.dose import dose_frame
    from trialdesk.apps.participants.models import Participant

    table = dose_frame()
    hidden = set(Participant.objects.filter(pk__in=x.excluded).values_list("trial_id", flat=True))
    table = table[~table["trial_id"].isin(hidden)].reset_index(drop=True)
    yield frame("dose", table.to_dict("records"))


def register(x: Extraction) -> Iterator[pd.DataFrame]:
    from trialdesk.apps.registers.followup import register_table

    yield frame("register", register_table().to_dict("records"))


def guesses(x: Extraction) -> Iterator[pd.DataFrame]:
    """The first guess recorded for each participant and visit (a second assessor's guess is left out:
    the table has one row per participant and visit)."""
    from trialdesk.apps.assessments.models import AllocationGuess

    seen: set[tuple[str, str]] = set()
    rows = []
    for trial_id, visit, assessor, guess, confidence in (
        AllocationGuess.objects.exclude(participant_id__in=x.excluded)
        .order_by("recorded_at", "id")
        .values_list("participant__trial_id", "visit__code", "assessor_id", "guess", "confidence")
    ):
        if (trial_id, visit) not in seen:
            seen.add((trial_id, visit))
            rows.append((trial_id, visit, f"assessor-{assessor}", x.arm(guess), confidence))
    yield frame("guesses", sorted(rows, key=lambda r: (r[0], r[1])))


def fidelity(x: Extraction) -> Iterator[pd.DataFrame]:
    from trialdesk.apps.intervention.models import FidelityRating
    from trialdesk.apps.intervention.services.fidelity import item_codes

    codes = item_codes()
    rows = [
        (
            str(pk),
            str(group),
            site,
            f"rater-{rater}",
            on,
            str(double) if double else None,
            score,
            ";".join("" if ratings.get(code) is None else str(ratings[code]) for code in codes),
        )
        for pk, group, site, rater, on, double, score, ratings in FidelityRating.objects.order_by(
            "id"
        ).values_list(
            "pk", "group_id", "group__site__code", "rater_id", "rated_on", "double_of_id", "score", "items"
        )
    ]
    yield frame("fidelity", rows)


EXTRACTORS = {
    "screening": screening,
    "participants": participants,
    "status_events": status_events,
    "scores": scores,
    "items": items,
    "dose": dose,
    "register": register,
    "guesses": guesses,
    "fidelity": fidelity,
}
assert set(EXTRACTORS) == set(datasets.TABLES)
