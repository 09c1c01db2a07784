"""Importing a register extract: the only writer of register events.

``import_register`` reads and validates the whole extract, links each row to a participant through the
key table's CPR fingerprints, and stores pseudonymised events, all in one transaction: any problem
stores nothing. Importing the same events again stores nothing new; they are reported as already
present. Nothing here logs, stores or raises a CPR number, except masked (``010180-****``).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trialdesk import clock
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.datamanagement.hooks import ensure_unlocked
from trialdesk.apps.ledger.services import Change, Context, append, append_many
from trialdesk.apps.participants import keys
from trialdesk.apps.participants.models import Participant, PersonalData
from trialdesk.apps.trial.services import active_protocol
from trialdesk.errors import ProblemsError, UserError

from . import reader
from .followup import FollowUp, follow_up
from .models import RegisterEvent, RegisterImport
from .periods import periods
from .reconcile import Linked, outside_follow_up, overlapping_admissions

log = logging.getLogger("trialdesk.registers")
_LOOKUP_CHUNK = 500
# A file name is stored and shown: a CPR number in it is masked like any other.
_CPR_LIKE = re.compile(r"(?<!\d)(\d{6})-?\d{4}(?!\d)")


@dataclass(frozen=True)
class ImportResult:
    register_import: RegisterImport

    @property
    def report(self) -> dict[str, Any]:
        return self.register_import.report


def event_hash(trial_id: str, kind: str, start: Any, end: Any) -> str:
    """Identity of a stored event: built from the pseudonym, never from the CPR number."""
    return hashlib.sha256(f"{trial_id}|{kind}|{start}|{end}".encode()).hexdigest()


def _link(rows: tuple[reader.ExtractRow, ...]) -> dict[str, Participant]:
    """CPR number -> participant, looked up by keyed fingerprint as ``participants.services.find_by_cpr``
    does, but in batches (an extract has thousands of rows)."""
    by_fingerprint = {keys.fingerprint(cpr): cpr for cpr in {row.cpr for row in rows}}
    found: dict[str, Participant] = {}
    prints = list(by_fingerprint)
    for i in range(0, len(prints), _LOOKUP_CHUNK):
        chunk = PersonalData.objects.filter(cpr_fingerprint__in=prints[i : i + _LOOKUP_CHUNK])
        for personal in chunk.select_related("participant", "participant__site"):
            found[by_fingerprint[personal.cpr_fingerprint]] = personal.participant
    return found


def _refusal(follow: FollowUp, row: reader.ExtractRow) -> str | None:
    """The consent rules for register data (``consent.services.may_collect``), on precomputed dates."""
    if follow.collect_from is None:
        return "no valid consent recorded"
    if row.start < follow.collect_from:
        return f"dated before consent ({follow.collect_from})"
    if follow.collect_until is not None and row.start >= follow.collect_until:
        return f"dated on or after withdrawal from register data collection ({follow.collect_until})"
    return None


def _problems(header: str, problems: list[str]) -> ProblemsError:
    listed = problems[: reader.MAX_LISTED]
    if len(problems) > reader.MAX_LISTED:
        listed.append(_("... and %(count)s more") % {"count": len(problems) - reader.MAX_LISTED})
    return ProblemsError([header, *listed])


def masked_file_name(file_name: str) -> str:
    """A file name as it is stored and shown: any CPR number in it masked."""
    return _CPR_LIKE.sub(r"\1-****", file_name)[:255]


def import_register(
    data: bytes, file_name: str, context: Context, *, user: Any, accept_unmatched: bool = False,
    progress: Callable[[str, int], None] | None = None,
    before_commit: Callable[[RegisterImport], None] | None = None,
) -> ImportResult:
    """Import an extract as ``user`` (who must be allowed ``import-registers``); all or nothing.

    Unmatched CPR numbers (not in the key table) refuse the import unless ``accept_unmatched``, when the
    matched rows are stored and the unmatched ones reported (row number and masked number only).
    ``progress(step, count)`` is told when the rows are read (``"matching"``, rows read) and when the
    events are about to be stored (``"storing"``, events to store), outside the import's transaction.
    ``before_commit(register_import)`` runs inside it once everything is written, so the caller's own
    record of the import commits with it; an exception there stores nothing.
    """
    if not allowed(user, "import-registers"):
        raise UserError(_("importing register extracts needs the personal-data key holder permission"))
    sha256 = hashlib.sha256(data).hexdigest()
    file_name = masked_file_name(file_name)
    extract = reader.read(data, file_name)
    if progress:
        progress("matching", extract.rows_read)
    people = _link(extract.rows)
    unmatched = [row for row in extract.rows if row.cpr not in people]
    if unmatched and not accept_unmatched:
        raise _problems(
            ngettext(
                "the extract was not imported: %(count)s row with a CPR number that is not in the key table "
                "(check the extract, or accept unmatched rows to store the matched ones only):",
                "the extract was not imported: %(count)s rows with a CPR number that is not in the key table "
                "(check the extract, or accept unmatched rows to store the matched ones only):",
                len(unmatched),
            ) % {"count": len(unmatched)},
            [_("row %(number)s: %(masked)s") % {"number": row.row, "masked": row.masked}
             for row in unmatched],
        )
    refused = [
        _("row %(number)s: participant %(trial_id)s is at a site where you may not import register data")
        % {"number": row.row, "trial_id": person.trial_id}
        for row in extract.rows
        if (person := people.get(row.cpr)) is not None and not allowed(user, "import-registers", person)
    ]
    if refused:
        raise _problems(_("the extract was not imported:"), refused)

    spec = periods(active_protocol())
    last_month = spec[-1].end_month if spec else 0
    follow = follow_up([p.pk for p in people.values()])
    if progress:
        progress("storing", len(extract.rows) - len(unmatched))
    with transaction.atomic():
        stored = {
            (e.participant_id, e.kind, e.starts_on, e.ends_on): e
            for e in RegisterEvent.objects.filter(participant_id__in=[p.pk for p in people.values()])
        }
        register_import = RegisterImport.objects.create(
            file_name=file_name, file_sha256=sha256, imported_by=context.actor,
            imported_at=clock.now(), rows_read=extract.rows_read,
            rows_matched=len(extract.rows) - len(unmatched),
            events_created=0, events_already_present=0, report={}, protocol_hash=context.protocol_hash,
        )  # fmt: skip
        linked: list[Linked] = []
        not_stored: list[dict[str, object]] = []
        already: list[int] = []
        new_events: list[tuple[reader.ExtractRow, Participant]] = []
        for row in extract.rows:
            person = people.get(row.cpr)
            if person is None:
                continue
            linked.append(Linked(row.row, person.trial_id, row.event, row.start, row.end))
            if (person.pk, row.event, row.start, row.end) in stored:
                already.append(row.row)
            elif reason := _refusal(follow[person.pk], row):
                not_stored.append({"row": row.row, "trial_id": person.trial_id, "reason": reason})
            else:
                new_events.append((row, person))
        for person in {p.pk: p for _, p in new_events}.values():
            ensure_unlocked(person)
        created = RegisterEvent.objects.bulk_create(
            [
                RegisterEvent(
                    participant=person, kind=row.event, starts_on=row.start, ends_on=row.end,
                    row_hash=event_hash(person.trial_id, row.event, row.start, row.end),
                    register_import=register_import,
                )
                for row, person in new_events
            ],
            batch_size=500,
        )
        append_many(context, (
            Change(action="create", entity="register-event", entity_id=event.pk,
                   new={"kind": row.event, "starts_on": row.start, "ends_on": row.end,
                        "import": register_import.pk},
                   site=person.site.code, participant=person.trial_id)
            for event, (row, person) in zip(created, new_events, strict=True)
        ))  # fmt: skip
        trial_ids = {p.pk: p.trial_id for p in people.values()}
        windows = {trial_ids[pid]: f.window(last_month) for pid, f in follow.items()}
        stored_admissions = [
            (trial_ids[pid], start, end) for (pid, kind, start, end) in stored if kind == "admission"
        ]
        earlier = list(
            RegisterImport.objects.filter(file_sha256=sha256).exclude(pk=register_import.pk)
            .order_by("imported_at").values_list("pk", flat=True)
        )  # fmt: skip
        report = {
            "file_name": register_import.file_name,
            "file_sha256": sha256,
            "earlier_imports_of_this_file": earlier,
            "rows_read": extract.rows_read,
            "rows_matched": register_import.rows_matched,
            "rows_unmatched": len(unmatched),
            "unmatched": [{"row": row.row, "cpr": row.masked} for row in unmatched],
            "events_created": len(new_events),
            "events_already_present": len(already),
            "already_present_rows": already,
            "not_stored": not_stored,
            "outside_follow_up": outside_follow_up(linked, windows),
            "overlapping_admissions": overlapping_admissions(linked, stored_admissions),
            "ignored_columns": list(extract.ignored_columns),
            "by_event": {kind: sum(1 for row in linked if row.event == kind) for kind in reader.EVENTS},
        }
        register_import.events_created = len(new_events)
        register_import.events_already_present = len(already)
        register_import.report = report
        register_import.save(update_fields=["events_created", "events_already_present", "report"])
        append(
            context, action="import", entity="register-import", entity_id=register_import.pk,
            new={key: report[key] for key in SUMMARY},
        )  # fmt: skip
        if before_commit:
            before_commit(register_import)
    log.info(
        "register import %s: %s rows read, %s matched, %s unmatched, %s created, %s already present",
        register_import.pk, report["rows_read"], report["rows_matched"], report["rows_unmatched"],
        report["events_created"], report["events_already_present"],
    )  # fmt: skip
    return ImportResult(register_import)


#: Report entries the ledger records for an import (counts and the file's hash; no row lists).
SUMMARY = ("file_name", "file_sha256", "rows_read", "rows_matched", "rows_unmatched", "events_created",
           "events_already_present")
