"""Shared set-up for the IMR delivery tests (imported by them; not a test file).

Participants are screened, consented and randomised through the real services, from the hand-written
list of ``enrolment_support`` (blocks of two: IMR, TAU, TAU, IMR, ...), so the arms are known.
"""

from __future__ import annotations

import datetime as dt

from enrolment_support import enrol, install, install_rows, user
from trialdesk import clock
from trialdesk.apps.intervention import services
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.apps.randomisation.services import randomise
from trialdesk.apps.trial.models import Site

#: Randomised on 1 March 2011; the first group starts on Tuesday 8 March 2011 at 18:00.
RANDOMISED_AT = dt.datetime(2011, 3, 1, 9, 0, tzinfo=dt.UTC)
GROUP_START = dt.date(2011, 3, 8)


def trial(per_stratum: int = 24):
    with clock.frozen(RANDOMISED_AT):
        context = install()
        install_rows(context, per_stratum)
    return context


def randomised(context, n_imr: int, site_code: str = "BAL", *, n_tau: int = 0):
    """``n_imr`` participants allocated to IMR and ``n_tau`` to TAU at ``site_code`` (schizophrenia)."""
    imr, tau = [], []
    with clock.frozen(RANDOMISED_AT):
        while len(imr) < n_imr or len(tau) < n_tau:
            participant = enrol(context, site_code, "F20.0")
            allocation = randomise(participant, context)
            participant.refresh_from_db()
            (imr if allocation.arm == "IMR" else tau).append(participant)
    return imr[:n_imr], tau[:n_tau]


def facilitators(site_code: str = "BAL", names=("frida", "finn")):
    return [user(f"{name}-{site_code.lower()}", "facilitator", site_code) for name in names]


def group(context, site_code: str = "BAL", name: str = "Tuesday group", people=None, **kw):
    with clock.frozen(RANDOMISED_AT):
        return services.create_group(
            Site.objects.get(code=site_code),
            name,
            facilitators=people or facilitators(site_code),
            planned_start=kw.pop("planned_start", GROUP_START),
            weekday=kw.pop("weekday", 1),
            start_time=kw.pop("start_time", dt.time(18, 0)),
            context=context,
            **kw,
        )


def running_group(context, members, site_code: str = "BAL", **kw):
    """A group with ``members`` placed on the start day, its schedule generated and started."""
    made = group(context, site_code, **kw)
    with clock.frozen(RANDOMISED_AT):
        for participant in members:
            services.place(participant, made, GROUP_START, context)
        services.generate_schedule(made, context)
        services.start(made, GROUP_START, context)
    made.refresh_from_db()
    return made


def at_local(day: dt.date, hour: int = 21) -> dt.datetime:
    """An instant on ``day`` in the evening, Copenhagen time, for freezing the clock after a session."""
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo("Europe/Copenhagen"))


def ledger_count() -> int:
    return LedgerEntry.objects.count()
