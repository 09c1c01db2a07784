"""Seed a database for the load test through the real services, and write a manifest for the clients.

Run by ``bench/load/run.py`` in a subprocess with DATABASE_URL (or TRIALDESK_DATA_DIR) and the
personal-data key in the environment:

    python bench/load/seed.py --manifest M.json --ready 6000 --followup 300

It installs the embedded IMR protocol, makes the load-test logins (coordinators and assessors, split over
the two sites), generates a permuted-block allocation list with room for every participant, and enrols
two pools of participants:

- ``ready``: screened, consented and baseline complete today-ish: the randomisation clients' work;
- ``followup``: enrolled two years ago and randomised then, so their 9- and 21-month visits are due: the
  assessors enter those visits' assessor-rated forms.

The manifest lists the logins, both pools per site, and a few valid answer sets per instrument, made
from the instruments' own definitions and checked with the entry service's own item check.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import sys
import time
from importlib import import_module
from pathlib import Path

SITES = ("BAL", "FRB")
DIAGNOSES = ("F20.0", "F31.3")  # schizophrenia, bipolar: the protocol's two diagnosis strata
ANSWERS = {"I2": True, "I4": True, "I5": True, "E1": False, "E2": "", "E3": False, "E4": False,
           "E5": False, "E6": False}  # fmt: skip
BATCH = 100  # participants per transaction: fewer commits, same service calls
VARIANTS = 4  # answer sets per instrument


def cpr_number(k: int) -> str:
    """A valid CPR number, unique per ``k``: born on day ``k`` after 1 January 1950 (7th digit 0-3)."""
    born = dt.date(1950, 1, 1) + dt.timedelta(days=k)
    return f"{born:%d%m%y}-{1000 + k % 2000:04d}"


def answer_sets(instrument_code: str, rng: random.Random) -> list[dict[str, str]]:
    """Form field -> text, as a browser posts it: a random allowed value per item."""
    from trialdesk.apps.assessments.formspec import build, number_text
    from trialdesk.apps.assessments.services.entry import check_values
    from trialdesk.instruments import get_library

    instrument = get_library().get(instrument_code)
    spec = build(instrument)
    out = []
    for _ in range(VARIANTS):
        posted: dict[str, str] = {}
        for field in spec.fields:
            if field.options:
                posted[field.name] = rng.choice(field.options).value
            elif field.minimum and field.maximum:
                low, high = float(field.minimum), float(field.maximum)
                posted[field.name] = number_text(round(rng.uniform(low, high)))
        _, problems = check_values(instrument, {k.removeprefix("item_"): v for k, v in posted.items()},
                                   complete=True)  # fmt: skip
        if problems:
            raise SystemExit(f"seed: generated {instrument_code} answers are refused: {problems}")
        out.append(posted)
    return out


def add_tokens(manifest_path: Path) -> None:
    """Give every login of a seeded manifest an API token (made by the token service, as a user would)."""
    from trialdesk.web.bootstrap import setup

    setup()
    from django.contrib.auth import get_user_model

    from trialdesk.api.tokens import create_token
    from trialdesk.apps.ledger.services import Context

    manifest = json.loads(manifest_path.read_text())
    users = get_user_model().objects.in_bulk(manifest["sessions"], field_name="username")
    manifest["tokens"] = {
        name: create_token(user, Context(actor=name, channel="web"), name="load test", days=1)[0]
        for name, user in users.items()
    }
    manifest_path.write_text(json.dumps(manifest))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--add-tokens", action="store_true",
                        help="only give the manifest's logins API tokens (on the database seeded before)")
    parser.add_argument("--ready", type=int, default=2000, help="participants left to randomise")
    parser.add_argument("--followup", type=int, default=300, help="randomised participants with visits due")
    parser.add_argument("--coordinators", type=int, default=16)
    parser.add_argument("--assessors", type=int, default=50)
    args = parser.parse_args()
    if args.add_tokens:
        add_tokens(args.manifest)
        return

    began = time.perf_counter()
    from trialdesk.web.bootstrap import setup

    setup(migrate=True)
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.db import transaction

    from trialdesk import clock
    from trialdesk.apps.accounts.services import create_user, grant_role
    from trialdesk.apps.assessments import services as assessments
    from trialdesk.apps.assessments.access import ENTRY_ACTIONS
    from trialdesk.apps.assessments.formspec import build
    from trialdesk.apps.assessments.models import Visit
    from trialdesk.apps.consent.services import record_consent
    from trialdesk.apps.ledger.services import Context
    from trialdesk.apps.participants.services import PersonalDetails, transition
    from trialdesk.apps.participants.status import State
    from trialdesk.apps.randomisation import lists
    from trialdesk.apps.randomisation.services import randomise
    from trialdesk.apps.screening.services import screen
    from trialdesk.apps.trial.models import Site
    from trialdesk.apps.trial.services import install_protocol
    from trialdesk.instruments import get_library
    from trialdesk.protocol import load_protocol

    started = time.perf_counter()
    print(f"seed: migrated in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    protocol = load_protocol()
    setup_ctx = Context(actor="load-setup", channel="command", protocol_hash=protocol.content_hash)
    install_protocol(protocol, setup_ctx)
    sites = {code: Site.objects.get(code=code) for code in SITES}

    sessions: dict[str, str] = {}

    def signed_in(user) -> str:
        """A session as ``django.contrib.auth.login`` leaves it: what a browser holds after signing in."""
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return store.session_key

    def make_users(prefix: str, role: str, count: int, **flags) -> dict[str, list[str]]:
        names: dict[str, list[str]] = {code: [] for code in SITES}
        for i in range(count):
            code = SITES[i % len(SITES)]
            name = f"{prefix}{i + 1:02d}"
            # No password: the clients start signed in (below), so no Argon2 hash is made or checked.
            user = create_user(name, None, setup_ctx, check_password=False)
            grant_role(user, role, setup_ctx, site=sites[code], **flags)
            names[code].append(name)
            sessions[name] = signed_in(user)
        return names

    coordinators = make_users("load-coord-", "coordinator", args.coordinators)
    assessors = make_users("load-assessor-", "assessor", args.assessors)
    # Slots for both pools in every stratum, plus a margin: a full stratum must never be the bottleneck.
    per_stratum = math.ceil((args.ready + args.followup) / (len(SITES) * len(DIAGNOSES)) * 1.2) + 10
    lists.generate(seed=20111, per_stratum=per_stratum,
                   context=Context(actor="load-statistician", channel="command",
                                   protocol_hash=protocol.content_hash), label="load test")  # fmt: skip

    def coordinator_ctx(code: str) -> Context:
        return Context(actor=coordinators[code][0], channel="command", protocol_hash=protocol.content_hash)

    def assessor_ctx(code: str) -> Context:
        return Context(actor=assessors[code][0], channel="command", protocol_hash=protocol.content_hash)

    def enrol(k: int, screened_on: dt.date):
        code, diagnosis = SITES[k % 2], DIAGNOSES[(k // 2) % 2]
        ctx = coordinator_ctx(code)
        participant = screen(
            sites[code], screened_on=screened_on, referral_source="clinician",
            answers={**ANSWERS, "I3": diagnosis},
            person=PersonalDetails(cpr=cpr_number(k), name="Load Person", contact="+45 1234 5678"),
            context=ctx,
        ).participant  # fmt: skip
        record_consent(participant, version=protocol.consent.documents[-1].version, oral_on=screened_on,
                       written_on=screened_on, taken_by=ctx.actor, context=ctx)  # fmt: skip
        participant.refresh_from_db()
        return code, participant

    today = clock.today()
    ready: dict[str, list[str]] = {code: [] for code in SITES}
    for start in range(0, args.ready, BATCH):
        with transaction.atomic():
            for k in range(start, min(start + BATCH, args.ready)):
                code, participant = enrol(k, today - dt.timedelta(days=30))
                transition(participant, State.BASELINE_COMPLETE, coordinator_ctx(code))
                ready[code].append(participant.trial_id)
        print(f"seed: {min(start + BATCH, args.ready)}/{args.ready} ready to randomise", file=sys.stderr)

    library = get_library()
    visits = [v for v in protocol.visits if v.month > 0]
    baseline_visit = next(v for v in protocol.visits if v.month == 0)
    assessor_forms = {
        v.code: [c for c in v.instruments if "enter-assessment" in ENTRY_ACTIONS[library.get(c).rater]
                 and build(library.get(c)).layout != "typed"]  # rating scales, not the typed baseline form
        for v in protocol.visits
    }
    rng = random.Random(2011)
    payloads = {code: answer_sets(code, rng) for forms in assessor_forms.values() for code in forms}
    anchor_form = assessor_forms[baseline_visit.code][0]
    baseline_on = today - dt.timedelta(days=730)
    tasks: dict[str, list[list[str]]] = {code: [] for code in SITES}
    for start in range(0, args.followup, BATCH):
        with transaction.atomic():
            for k in range(args.ready + start, args.ready + min(start + BATCH, args.followup)):
                code, participant = enrol(k, baseline_on - dt.timedelta(days=7))
                # One baseline form dates the baseline, which sets every later visit's window.
                answers = {k.removeprefix("item_"): v for k, v in payloads[anchor_form][0].items()}
                assessments.save(participant, baseline_visit.code, anchor_form, answers,
                                 assessed_on=baseline_on, context=assessor_ctx(code), complete=True)
                participant.refresh_from_db()
                if participant.state is not State.BASELINE_COMPLETE:
                    transition(participant, State.BASELINE_COMPLETE, coordinator_ctx(code))
                at = dt.datetime.combine(baseline_on + dt.timedelta(days=2), dt.time(10), tzinfo=dt.UTC)
                with clock.frozen(at):
                    randomise(participant, coordinator_ctx(code))
                targets = dict(
                    Visit.objects.filter(participant=participant).values_list("code", "target")
                )
                tasks[code].extend(
                    [participant.trial_id, v.code, form, targets[v.code].isoformat()]
                    for v in visits for form in assessor_forms[v.code]
                )  # fmt: skip
        print(f"seed: {min(start + BATCH, args.followup)}/{args.followup} with visits due", file=sys.stderr)
    for code in SITES:
        random.Random(code).shuffle(tasks[code])  # spread the assessors over participants and forms

    manifest = {
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "sessions": sessions,
        "coordinators": coordinators,
        "assessors": assessors,
        "ready": ready,
        "tasks": tasks,
        "payloads": payloads,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.manifest.write_text(json.dumps(manifest))
    print(f"seed: done in {manifest['seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
