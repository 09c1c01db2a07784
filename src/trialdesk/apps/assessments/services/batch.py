"""Entering every form of one visit at once (a batch from paper or an import): the same checks as
:func:`entry.save` and :func:`entry.mark_not_done`, written with bulk inserts, one ledger batch and one
refresh of the visit instead of one transaction per form.

Only for forms not yet entered: a correction goes through :func:`entry.save` with its reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.datamanagement.hooks import ensure_unlocked, raise_automatic_queries_many
from trialdesk.apps.ledger.services import Change, Context, append_many, deferred
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.problems import InputError
from trialdesk.errors import UserError
from trialdesk.instruments import get_library, score

from ..models import Assessment, ItemResponse, Score
from ..progress import COMPLETE, NOT_DONE
from .entry import _check_date, _ref, check_open, check_values, not_done_reason_required
from .schedule import anchor_schedule, refresh, visit_of


def save_visit(
    participant: Participant,
    visit_code: str,
    forms: Mapping[str, Mapping[str, object]],
    *,
    assessed_on: dt.date | None,
    context: Context,
    not_done: Mapping[str, str] | None = None,
) -> list[Assessment]:
    """Complete ``forms`` (instrument -> item values) dated ``assessed_on`` and record ``not_done``
    (instrument -> reason) at one visit. Every problem is reported at once (fields named
    ``<instrument>.<field>``) and nothing is stored unless everything is valid."""
    not_done = dict(not_done or {})
    library = get_library()
    instruments = {code: library.get(code) for code in [*forms, *not_done]}
    with transaction.atomic(), deferred():
        visit = visit_of(participant, visit_code, context)
        locked = visit.participant
        ensure_unlocked(locked, visit)
        check_open(visit, list(instruments), locked.trial_id)
        entered = sorted(
            Assessment.objects.filter(visit=visit, instrument__in=list(instruments)).values_list(
                "instrument", flat=True
            )
        )
        if entered:
            raise UserError(
                _("%(entered)s at %(visit)s of %(trial_id)s already entered: correct a form one at a time, "
                  "with a reason")
                % {"entered": ", ".join(entered), "visit": visit.label, "trial_id": locked.trial_id}
            )
        problems: dict[str, str] = {}
        values: dict[str, dict] = {}
        for code, raw in forms.items():
            checked, found = check_values(instruments[code], raw, complete=True)
            values[code] = checked
            problems.update({f"{code}.{name}": text for name, text in found.items()})
        for code, reason in not_done.items():
            if not reason.strip():
                problems[f"{code}.not_done_reason"] = not_done_reason_required(instruments[code])
        if forms and (date_problem := _check_date(locked, visit, assessed_on)) is not None:
            problems["assessed_on"] = date_problem
        if problems:
            raise InputError(problems)
        if forms and visit.anchor and visit.target is None and assessed_on is not None:
            anchor_schedule(locked, assessed_on, context, reason="baseline dated by its first form")
            visit.refresh_from_db(fields=["target", "opens", "closes"])
        now = clock.now()
        made = Assessment.objects.bulk_create(
            [
                Assessment(participant=locked, visit=visit, instrument=code, created_at=now, updated_at=now,
                           status=COMPLETE, assessed_on=assessed_on, entered_by=context.actor,
                           protocol_hash=context.protocol_hash, completed_at=now)
                for code in forms
            ]
            + [
                Assessment(participant=locked, visit=visit, instrument=code, created_at=now, updated_at=now,
                           status=NOT_DONE, not_done_reason=reason.strip(), entered_by=context.actor,
                           protocol_hash=context.protocol_hash)
                for code, reason in not_done.items()
            ]
        )  # fmt: skip
        responses, scores, changes = [], [], []
        for assessment in made:
            code, ref = assessment.instrument, _ref(visit, assessment.instrument)
            if assessment.status == NOT_DONE:
                changes.append(Change(action="not-done", entity="assessment", entity_id=ref,
                                      field="not_done_reason", new=assessment.not_done_reason,
                                      reason=assessment.not_done_reason, site=locked.site.code,
                                      participant=locked.trial_id))  # fmt: skip
                continue
            responses += [
                ItemResponse(assessment=assessment, item=item,
                             number=float(value) if not isinstance(value, str) else None,
                             text=value if isinstance(value, str) else "")
                for item, value in values[code].items()
            ]  # fmt: skip
            scored: dict = {}
            if instruments[code].score_names:
                result = score(instruments[code], values[code])
                scored = dict(result.values)
                scores += [
                    Score(assessment=assessment, name=name, value=value,
                          prorated=name in result.prorated_scores, category=result.categories.get(name) or "")
                    for name, value in result.values.items()
                ]  # fmt: skip
            changes.append(Change(action="complete", entity="assessment", entity_id=ref,
                                  new={"assessed_on": assessed_on, "items": values[code], "scores": scored},
                                  site=locked.site.code, participant=locked.trial_id))  # fmt: skip
        ItemResponse.objects.bulk_create(responses, batch_size=500)
        Score.objects.bulk_create(scores, batch_size=500)
        append_many(context, changes)
        refresh(visit, context)
        for assessment in made:
            assessment.visit, assessment.participant = visit, locked
        prefetch_related_objects(made, "responses")  # the edit checks read every form's values
        raise_automatic_queries_many(made, context)
    return made
