"""IMR Fidelity Scale ratings: scored by the instrument library, a seeded share double-rated."""

from __future__ import annotations

import datetime as dt
import secrets

import pandas as pd
from django.db import transaction
from django.utils.translation import gettext as _

from trialdesk import clock
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Context, append
from trialdesk.errors import UserError
from trialdesk.instruments import get_library, score

from .. import fidelity_analysis
from ..models import DoubleRatingPlan, FidelityRating, Group, Session
from .common import intervention, record


def instrument_code() -> str:
    return intervention().fidelity.instrument


def item_codes() -> list[str]:
    return list(get_library().get(instrument_code()).item_map)


def set_double_rating_plan(share: float, context: Context, seed: int | None = None) -> DoubleRatingPlan:
    """From now on, double-rate each first rating's occasion with probability ``share``; the seed (drawn
    when not given) is stored so every selection can be re-drawn and checked."""
    if not 0 <= share <= 1:
        raise UserError(_("the double-rated share must be between 0 and 1, got %(share)s") % {
            "share": share})
    seed = secrets.randbits(62) if seed is None else seed
    with transaction.atomic():
        plan = DoubleRatingPlan.objects.create(
            share=share,
            seed=seed,
            algorithm=fidelity_analysis.DRAW_ALGORITHM,
            set_by=context.actor,
            set_at=clock.now(),
        )
        append(
            context,
            action="create",
            entity="imr-double-rating-plan",
            entity_id=plan.pk,
            new={"share": share, "seed": seed, "algorithm": plan.algorithm},
        )
    return plan


def current_plan() -> DoubleRatingPlan | None:
    return DoubleRatingPlan.objects.first()


def rate(
    group: Group,
    *,
    rater,
    rated_on: dt.date,
    source: str,
    items: dict[str, object],
    context: Context,
    session: Session | None = None,
    double_of: FidelityRating | None = None,
) -> FidelityRating:
    """Record one rating; the instrument checks every item (1-5) and gives the score and category."""
    sources = [code for code, _ in FidelityRating.SOURCES]
    if source not in sources:
        raise UserError(_("source %(source)s is not one of %(sources)s") % {
            "source": repr(source), "sources": ', '.join(sources)})
    if not allowed(rater, "rate-fidelity", group):
        raise UserError(_("%(username)s is not a fidelity rater for site %(site)s") % {
            "username": rater.username, "site": group.site.code})
    scores = score(instrument_code(), items)  # UserError names the item and its allowed values
    if scores.values["total"] is None:
        raise UserError(
            _("%(instrument_code)s: too many items missing (%(missing_items)s) to score") % {
                "instrument_code": instrument_code(), "missing_items": ', '.join(scores.missing_items)}
        )
    if session is not None and session.group_id != group.pk:
        raise UserError(_("session %(number)s is not a session of group %(group_name)s") % {
            "number": session.number, "group_name": group.name})
    if rated_on > clock.today():
        raise UserError(_("a rating cannot be dated in the future (%(rated_on)s)") % {"rated_on": rated_on})
    if double_of is not None:
        if double_of.group_id != group.pk:
            raise UserError(_("double rating rule: a double rating must rate the same group's occasion"))
        if double_of.double_of_id is not None:
            raise UserError(_("double rating rule: rating %(double_of)s is itself a double rating") % {
                "double_of": double_of.pk})
        if double_of.rater_id == rater.pk:
            raise UserError(_("double rating rule: the second rating must come from another rater"))
        if FidelityRating.objects.filter(double_of=double_of).exists():
            raise UserError(_("double rating rule: rating %(double_of)s is already double-rated") % {
                "double_of": double_of.pk})
        session = double_of.session
    values = {code: value for code, value in items.items() if value not in (None, "")}
    with transaction.atomic():
        rating = FidelityRating.objects.create(
            group=group,
            session=session,
            rater=rater,
            rated_on=rated_on,
            source=source,
            items=values,
            score=scores.values["total"],
            category=scores.categories.get("total") or "",
            double_of=double_of,
            created_at=clock.now(),
            protocol_hash=context.protocol_hash,
        )
        plan = current_plan()
        if double_of is None and plan is not None:
            rating.selected_for_double = fidelity_analysis.selected_for_double(
                plan.seed, rating.pk, plan.share
            )
            rating.draw_seed, rating.draw_algorithm = plan.seed, plan.algorithm
            rating.save(update_fields=["selected_for_double", "draw_seed", "draw_algorithm"])
        record(
            context,
            group,
            action="create",
            entity="imr-fidelity",
            entity_id=rating.pk,
            new={
                "rater": rater.username,
                "rated_on": rated_on,
                "source": source,
                "items": values,
                "score": rating.score,
                "category": rating.category,
                "double_of": double_of.pk if double_of else None,
                "selected_for_double": rating.selected_for_double,
            },
        )
    return rating


def awaiting_double() -> list[FidelityRating]:
    """First ratings drawn for double rating that no second rater has rated yet."""
    return list(
        FidelityRating.objects.filter(selected_for_double=True, double__isnull=True)
        .select_related("group__site", "rater")
        .order_by("rated_on")
    )


def ratings_frame(queryset=None) -> pd.DataFrame:
    """One row per rating: the analysis table ``fidelity`` columns, plus item_<code> columns and the
    group's facilitators (';'-separated)."""
    codes = item_codes()
    queryset = FidelityRating.objects.all() if queryset is None else queryset
    rows = []
    for r in queryset.select_related("group__site", "rater").prefetch_related("group__facilitators"):
        row = {
            "rating_id": str(r.pk),
            "group_id": str(r.group_id),
            "site": r.group.site.code,
            "rater": r.rater.username,
            "rated_on": r.rated_on,
            "double_of": str(r.double_of_id) if r.double_of_id else "",
            "score": r.score,
            "items": ";".join("" if r.items.get(c) is None else str(r.items[c]) for c in codes),
            "category": r.category,
            "source": r.source,
            "facilitators": ";".join(sorted(u.username for u in r.group.facilitators.all())),
        }
        row.update({f"item_{c}": r.items.get(c) for c in codes})
        rows.append(row)
    columns = [
        "rating_id",
        "group_id",
        "site",
        "rater",
        "rated_on",
        "double_of",
        "score",
        "items",
        "category",
        "source",
        "facilitators",
        *[f"item_{c}" for c in codes],
    ]
    return pd.DataFrame(rows, columns=columns)


def reliability(queryset=None) -> dict[str, object]:
    return fidelity_analysis.reliability(ratings_frame(queryset), item_codes())


def drift(by: str, queryset=None) -> pd.DataFrame:
    """Fidelity over time by ``site`` or ``facilitator``, first ratings only."""
    frame = ratings_frame(queryset)
    frame = frame[frame["double_of"] == ""]
    if by == "facilitator":
        frame = frame.assign(facilitator=frame["facilitators"].str.split(";")).explode("facilitator")
    return fidelity_analysis.drift(frame, by)
