"""The demo: the simulated IMR trial pushed through the real services, stage by stage, then reported.

Stages (each timed, with a progress bar): set-up (protocol, logins, staff, the allocation list),
enrolment, delivery (IMR groups), follow-up (visits, forms, guesses, status), registers, close-out
(database lock -> snapshot, analysis, report). The generator's steps run between them, each on its own
random stream exactly as :func:`trialdesk.simulation.simulate_trial` draws them, with the arms the
allocation service handed out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction

from trialdesk.apps.accounts.roles import Role
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.trial.demo import DEMO_STAFF, prepare
from trialdesk.simulation.calibration import Settings
from trialdesk.simulation.delivery import deliver
from trialdesk.simulation.followup import baseline_outcomes, draw_population_latent, outcomes_for
from trialdesk.simulation.outcomes import ANCHOR
from trialdesk.simulation.population import baseline_form, simulate_population
from trialdesk.simulation.registers import register_events

from . import staff as staff_accounts
from .allocation import install_list, list_size
from .closeout import analyse_and_report, analysis_snapshot, lock_database
from .delivery import deliver_imr
from .enrolment import enrol, events
from .followup import follow as follow_up
from .registers import import_events
from .timeline import as_date, on

#: progress(stage, total) -> advance(n): how the CLI shows progress (no-op by default).
Progress = Callable[[str, int], Callable[[int], None]]


def _quiet(stage: str, total: int) -> Callable[[int], None]:
    return lambda n: None


@dataclass
class DemoResult:
    participants: int
    seed: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    generator_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    #: the generated frames and what each stage wrote (for tests; not in the summary)
    data: dict[str, Any] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "data"}


@dataclass
class Run:
    """State shared by the stages of one demo run."""

    protocol: Any
    seed: int
    n: int
    out: Path
    progress: Progress
    result: DemoResult
    streams: list[np.random.Generator] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)
    data: dict[str, Any] = field(default_factory=dict)
    pdf: bool = True

    def context(self, actor: str, channel: str = "command") -> Context:
        return Context(actor=actor, channel=channel, protocol_hash=self.protocol.content_hash)

    @contextmanager
    def stage(self, name: str, *, atomic: bool = False) -> Iterator[None]:
        """Time a stage; ``atomic`` runs it in one transaction (the services' own become savepoints),
        which spares SQLite a commit per call and leaves nothing of a stage that fails."""
        started = time.perf_counter()
        with transaction.atomic() if atomic else nullcontext():
            yield
        self.result.timings[name] = round(time.perf_counter() - started, 3)

    @contextmanager
    def generating(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.result.generator_seconds += time.perf_counter() - started


def site_logins(protocol: Any, role: Role) -> dict[str, str]:
    """Site code -> username of the demo login with ``role`` at that site."""
    codes = [s.code for s in protocol.sites]
    return {
        codes[login.site_index % len(codes)]: login.username
        for login in reversed(DEMO_STAFF)
        if login.role is role and login.site_index is not None
    }


def generator_staff(protocol: Any) -> list[tuple[str, Role, str | None]]:
    """The assessors, facilitators and fidelity raters the generator names (see simulation.delivery)."""
    people: list[tuple[str, Role, str | None]] = []
    for site in protocol.sites:
        people += [(f"{site.code}-assessor-{k}", Role.ASSESSOR, site.code) for k in (1, 2)]
        people += [(f"{site.code}-facilitator-{k}", Role.FACILITATOR, site.code) for k in range(1, 5)]
    people += [(f"fidelity-{k}", Role.FIDELITY_RATER, None) for k in range(1, 4)]
    return people


def setup_stage(run: Run) -> None:
    protocol = run.protocol
    start = protocol.trial.start_date
    with run.stage("setup"), on(start):
        prepare(protocol, run.context("demo"))
        run.data["staff"] = staff_accounts.ensure(
            generator_staff(protocol), run.context("demo"), staff_accounts.Staff()
        )
        install_list(protocol, run.seed, run.context("statistician"))


def population_step(run: Run) -> None:
    """Generate who is screened and randomised, and refuse a demo the allocation list cannot take."""
    protocol = run.protocol
    with run.generating():
        population = simulate_population(protocol, run.n, run.streams[0], run.settings)
        participants = population.participants.copy()
        latent = draw_population_latent(participants, protocol, run.streams[1])
        items, _assessed = baseline_outcomes(participants, latent, protocol, run.streams[1], run.settings)
        form = baseline_form(participants)
    list_size(protocol, population.participants)
    run.data.update(
        population=population,
        participants=participants,
        latent=latent,
        baseline_items=items,
        baseline_form=form,
    )


def enrolment_stage(run: Run) -> None:
    protocol = run.protocol
    population, participants = run.data["population"], run.data["participants"]
    coordinators = {code: run.context(name) for code, name in site_logins(protocol, Role.COORDINATOR).items()}
    assessors = {
        s.code: run.context(staff_accounts.username_of(f"{s.code}-assessor-1")) for s in protocol.sites
    }
    with run.stage("enrolment", atomic=True):
        advance = run.progress("enrolment", len(events(population.status_events)))
        done = enrol(
            population,
            run.data["baseline_items"],
            run.data["baseline_form"],
            protocol=protocol,
            coordinators=coordinators,
            assessors=assessors,
            advance=advance,
        )
    participants["arm"] = participants["trial_id"].map(done.arms)
    run.data["enrolled"] = done
    run.result.counts["enrolment"] = dict(done.counts)


def course_step(run: Run) -> None:
    """Generate IMR delivery, follow-up and registers for the arms the allocation service gave."""
    protocol, participants = run.protocol, run.data["participants"]
    with run.generating():
        delivered = deliver(participants, protocol, run.streams[3], run.settings)
        participants["group_id"] = participants["trial_id"].map(delivered.placements)
        follow = outcomes_for(
            participants,
            protocol,
            run.streams[4],
            latent=run.data["latent"],
            delivery=delivered,
            settings=run.settings,
        )
        delivered = delivered.end_memberships(follow.ends)
        severity = run.data["latent"].of(
            participants["trial_id"].to_numpy(), ANCHOR, run.data["latent"].model.visits[0]
        )
        events = register_events(
            participants, protocol, run.streams[5], severity_z=severity, ends=follow.ends
        )
    run.data.update(delivery=delivered, follow=follow, register_events=events)


def _users(run: Run) -> Any:
    return run.data["staff"]


def delivery_stage(run: Run) -> None:
    delivered = run.data["delivery"]
    total = (
        len(delivered.groups) * 4
        + len(delivered.memberships) * 2
        + 2 * len(delivered.sessions)
        + len(delivered.fidelity)
    )
    with run.stage("delivery", atomic=True):
        done = deliver_imr(
            delivered,
            protocol=run.protocol,
            participants=run.data["enrolled"].participants,
            users=_users(run),
            context=run.context,
            advance=run.progress("delivery", total),
        )
    run.result.counts["delivery"] = dict(done.counts)


def _assessor(run: Run) -> Callable[[str | None, str], tuple[Any, Context]]:
    users = _users(run)

    def pick(name: str | None, site: str) -> tuple[Any, Context]:
        user = users.get(name or f"{site}-assessor-1")
        return user, run.context(user.username)

    return pick


def _site_of(run: Run) -> dict[str, str]:
    return dict(zip(run.data["participants"]["trial_id"], run.data["participants"]["site"], strict=True))


def followup_stage(run: Run) -> None:
    follow = run.data["follow"]
    coordinators = {c: run.context(n) for c, n in site_logins(run.protocol, Role.COORDINATOR).items()}
    total = len(follow.visits) + len(follow.guesses) + len(follow.status_events)
    with run.stage("follow-up", atomic=True):
        done = follow_up(
            follow,
            participants=run.data["enrolled"].participants,
            site_of=_site_of(run),
            coordinators=coordinators,
            assessor=_assessor(run),
            advance=run.progress("follow-up", total),
        )
    run.result.counts["follow-up"] = dict(done.counts)


def _end_of_trial(run: Run) -> Any:
    """The day after the last generated record (never after the protocol's completion date)."""
    follow = run.data["follow"]
    days = [as_date(d) for d in follow.visits["closes"]] + [as_date(d) for d in follow.status_events["on"]]
    return max(max(days) + dt.timedelta(days=1), run.protocol.trial.start_date)


def registers_stage(run: Run) -> None:
    from django.conf import settings

    from trialdesk.apps.accounts.models import Membership

    importers = {}
    for code, name in site_logins(run.protocol, Role.COORDINATOR).items():
        user = (
            Membership.objects.select_related("user")
            .get(user__username=name, role=Role.COORDINATOR.value)
            .user
        )
        importers[code] = (user, run.context(name, "import"))
    with run.stage("registers", atomic=True):
        done = import_events(
            run.data["register_events"],
            cpr=run.data["enrolled"].cpr,
            site_of=_site_of(run),
            day=_end_of_trial(run),
            importers=importers,
            folder=Path(settings.DATA_DIR) / "register-extracts",
        )
        run.progress("registers", 1)(1)
    run.result.counts["registers"] = dict(done.counts)
    run.result.paths["register_extracts"] = ";".join(done.files)


def closeout_stage(run: Run) -> None:
    """The data manager locks the database; the statistician takes the analysis snapshot."""
    from trialdesk.apps.accounts.models import Membership

    day = _end_of_trial(run) + dt.timedelta(days=7)
    manager = Membership.objects.select_related("user").filter(role=Role.DATA_MANAGER.value).first().user
    with run.stage("close-out"):
        advance = run.progress("close-out", 1)
        closed = lock_database(day, user=manager, context=run.context(manager.username))
        analysis_snapshot(closed, day, context=run.context("statistician"))
        advance(1)
    run.data["closed"] = closed
    run.result.counts["close-out"] = dict(closed.counts)
    run.result.paths.update(closed.paths, snapshot=closed.snapshot_id)


def report_stage(run: Run) -> None:
    """The statistician runs the analysis plan on the snapshot and writes the report to ``--out``.

    A failure here leaves a complete, locked trial in the database (what the app serves), so it is
    recorded in the summary instead of ending the demo: ``trialdesk report`` can be rerun later.
    """
    closed = run.data["closed"]
    day = _end_of_trial(run) + dt.timedelta(days=8)
    with run.stage("report"):
        advance = run.progress("report", 1)
        try:
            analyse_and_report(closed, day, context=run.context("statistician"), out=run.out, pdf=run.pdf)
        except Exception as problem:
            run.result.problems.append(f"report not written: the analysis failed ({type(problem).__name__}: "
                                       f"{problem}); rerun `trialdesk report --out {run.out}`")  # fmt: skip
        advance(1)
    run.result.paths.update(closed.paths)


def run_demo(
    protocol: Any,
    *,
    n: int,
    seed: int,
    out: Path,
    progress: Progress = _quiet,
    stages: tuple[str, ...] | None = None,
    pdf: bool = True,
) -> DemoResult:
    """Run the demo into the configured (empty) database; Django must be set up."""
    result = DemoResult(participants=n, seed=seed)
    run = Run(
        protocol=protocol,
        seed=seed,
        n=n,
        out=out,
        progress=progress,
        result=result,
        pdf=pdf,
        streams=[np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)],
    )
    run.settings = dataclasses.replace(
        run.settings,
        final_group_minimum=max(run.settings.final_group_minimum, protocol.intervention.group_start_minimum),
    )
    started = time.perf_counter()
    for name, step in STAGES:
        if stages is None or name in stages:
            step(run)
    result.timings["total"] = round(time.perf_counter() - started, 3)
    result.data = run.data
    result.generator_seconds = round(result.generator_seconds, 3)
    return result


STAGES: list[tuple[str, Callable[[Run], None]]] = [
    ("population", population_step),
    ("setup", setup_stage),
    ("enrolment", enrolment_stage),
    ("course", course_step),
    ("delivery", delivery_stage),
    ("follow-up", followup_stage),
    ("registers", registers_stage),
    ("close-out", closeout_stage),
    ("report", report_stage),
]

__all__ = ["DemoResult", "Run", "pd", "run_demo"]
