"""Stage 1, enrolment: screening, re-screening, consent or decline, baseline forms and randomisation.

Every pre-randomisation status event the generator made becomes the service call that makes it in the
app, on its simulated day and in date order (so trial ids are handed out in the generator's order):
``screening.screen`` / ``rescreen`` (eligible or not), ``consent.record_consent`` / ``record_decline`` /
``record_withdrawal``, the baseline forms through ``assessments.save_visit`` (their completion moves the
participant to baseline complete), then ``randomisation.randomise``, which takes the next slot of the
statistician's allocation list: the arms the rest of the trial is simulated with come from there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from trialdesk.apps.assessments import services as assessments
from trialdesk.apps.consent import services as consent
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.participants.models import Participant
from trialdesk.apps.participants.services import PersonalDetails
from trialdesk.apps.randomisation.services import randomise
from trialdesk.apps.screening import services as screening
from trialdesk.apps.trial.models import Site

from .people import CprBook, name_of
from .timeline import as_date, on

#: What a pre-randomisation status event becomes (None: written by the service of another event).
ACTIONS = {
    "screened": "screen",
    "consented": "consent",
    "declined": "decline",
    "withdrawn": "withdraw",
    "baseline_complete": "baseline",
    "randomised": "randomise",
}


@dataclass
class Enrolled:
    """What enrolment wrote: participants by generator trial id, their arms, and counts."""

    participants: dict[str, Participant] = field(default_factory=dict)
    cpr: dict[str, str] = field(default_factory=dict)
    arms: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


def form_values(items: pd.DataFrame) -> dict[tuple[str, str, str], dict[str, object]]:
    """(trial_id, visit, instrument) -> {item: value}; blank (NaN) items left out, whole numbers as int."""
    out: dict[tuple[str, str, str], dict[str, object]] = {}
    for trial_id, visit, instrument, item, value in items[
        ["trial_id", "visit", "instrument", "item", "value"]
    ].itertuples(index=False):
        answers = out.setdefault((trial_id, visit, instrument), {})
        if isinstance(value, float) and math.isnan(value):
            continue
        answers[str(item)] = int(value) if isinstance(value, float) and value.is_integer() else value
    return out


def events(status_events: pd.DataFrame) -> list[dict[str, Any]]:
    """The pre-randomisation events that need a service call, in date order (stable within a day)."""
    rows = status_events[status_events["to_state"].isin(list(ACTIONS))].copy()
    rows["on"] = rows["on"].map(as_date)
    rows = rows.sort_values("on", kind="stable")
    return rows.to_dict("records")


def enrol(
    population: Any,
    baseline_items: pd.DataFrame,
    baseline_form: pd.DataFrame,
    *,
    protocol: Any,
    coordinators: dict[str, Context],
    assessors: dict[str, Context],
    advance: Callable[[int], None],
) -> Enrolled:
    """Push ``population`` (``simulation.population.Population``) through the enrolment services."""
    sites = {s.code: s for s in Site.objects.all()}
    screenings = population.screening.set_index("screening_id")
    forms = form_values(baseline_items)
    for trial_id, item, value in baseline_form.itertuples(index=False):
        forms.setdefault((trial_id, _baseline_code(protocol), "baseline"), {})[str(item)] = value
    version = protocol.consent.documents[-1].version
    baseline = next(v for v in protocol.visits if v.month == 0)
    book = CprBook()
    done = Enrolled()
    for event in events(population.status_events):
        action = ACTIONS[event["to_state"]]
        trial_id, day = event["trial_id"], event["on"]
        site = sites[screenings.loc[event["screening_id"], "site"]]
        context = coordinators[site.code]
        with on(day):
            if action == "screen":
                row = screenings.loc[event["screening_id"]]
                _screen(done, book, trial_id, row, site, context, first=pd.isna(event["from_state"]))
            elif action == "consent":
                consent.record_consent(
                    done.participants[trial_id],
                    version=version,
                    oral_on=day,
                    written_on=day,
                    taken_by=context.actor,
                    context=context,
                )
                done.count("consented")
            elif action == "decline":
                category = str(screenings.loc[event["screening_id"], "decline_reason"])
                consent.record_decline(
                    done.participants[trial_id], category=category, declined_on=day, context=context
                )
                done.count("declined")
            elif action == "withdraw":
                consent.record_withdrawal(
                    done.participants[trial_id],
                    withdrawn_on=day,
                    scope="data_collection",
                    context=context,
                    reason=str(event["reason"] or ""),
                )
                done.count("withdrawn before randomisation")
            elif action == "baseline":
                forms_at = {c: forms.get((trial_id, baseline.code, c), {}) for c in baseline.instruments}
                assessments.save_visit(done.participants[trial_id], baseline.code, forms_at, assessed_on=day,
                                       context=assessors[site.code])  # fmt: skip
                done.count("baseline forms", len(baseline.instruments))
            elif action == "randomise":
                allocation = randomise(done.participants[trial_id], context)
                done.arms[trial_id] = allocation.arm
                done.count("randomised")
        advance(1)
    return done


def _baseline_code(protocol: Any) -> str:
    return next(v.code for v in protocol.visits if v.month == 0)


def _screen(  # noqa: PLR0917 - a step of the dated event plan
    done: Enrolled, book: CprBook, trial_id: str, row: pd.Series, site: Site, context: Context, *, first: bool
) -> None:
    answers = dict(row["answers"])
    if first:
        number = book.issue(as_date(row["birth_date"]), str(row["sex"]))
        person = PersonalDetails(
            cpr=number,
            name=name_of(len(done.cpr), str(row["sex"])),
            contact=f"+45 {20000000 + len(done.cpr):08d}",
        )
        made = screening.screen(
            site,
            screened_on=as_date(row["screened_on"]),
            referral_source=str(row["referral_source"]),
            answers=answers,
            person=person,
            context=context,
        )
        done.participants[trial_id] = made.participant
        done.cpr[trial_id] = number
        done.count("screened")
    else:
        screening.rescreen(
            done.participants[trial_id],
            screened_on=as_date(row["screened_on"]),
            referral_source=str(row["referral_source"]),
            answers=answers,
            context=context,
        )
        done.count("re-screened")
