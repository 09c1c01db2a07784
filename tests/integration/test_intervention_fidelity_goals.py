"""Fidelity ratings (instrument-scored, seeded double-rating draws, reliability, drift) and recovery goals."""

import datetime as dt

import numpy as np
import pytest

import intervention_support as imr
from enrolment_support import user
from trialdesk import clock
from trialdesk.apps.intervention import fidelity_analysis, services
from trialdesk.apps.intervention.models import FidelityRating, GoalFollowUp, RecoveryGoal
from trialdesk.apps.intervention.services import fidelity
from trialdesk.apps.ledger.models import LedgerEntry
from trialdesk.errors import UserError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("personal_data_key")]
LATER = imr.at_local(dt.date(2011, 12, 1))


@pytest.fixture
def setup():
    ctx = imr.trial()
    people, _ = imr.randomised(ctx, 6)
    group = imr.running_group(ctx, people)
    return ctx, group, people


def _items(*values):
    return {str(i + 1): v for i, v in enumerate(values)}


def _rate(ctx, group, rater, values, on=dt.date(2011, 6, 1), **kw):
    with clock.frozen(LATER):
        return services.rate(
            group, rater=rater, rated_on=on, source="observation", items=_items(*values), context=ctx, **kw
        )


def test_a_rating_is_scored_by_the_instrument(setup):
    ctx, group, _ = setup
    rater = user("rita", "fidelity_rater")
    rating = _rate(ctx, group, rater, [4] * 10 + [3, 3, 5])
    # mean of 4x10, 3, 3, 5 = 51/13 = 3.923..., moderate (3.0 to below 4.0)
    assert rating.score == pytest.approx(51 / 13)
    assert rating.category == "moderate"
    assert LedgerEntry.objects.filter(entity="imr-fidelity").count() == 1


def test_an_item_of_6_is_refused_and_nothing_is_stored(setup):
    ctx, group, _ = setup
    rater = user("rita", "fidelity_rater")
    before = (FidelityRating.objects.count(), LedgerEntry.objects.count())
    with pytest.raises(
        UserError, match="imr_fidelity item 3: 6 is not allowed; allowed values are 1, 2, 3, 4, 5"
    ):
        _rate(ctx, group, rater, [4, 4, 6] + [4] * 10)
    assert (FidelityRating.objects.count(), LedgerEntry.objects.count()) == before


def test_only_fidelity_raters_rate_and_a_double_needs_another_rater(setup):
    ctx, group, _ = setup
    facilitator = group.facilitators.first()
    with pytest.raises(UserError, match="is not a fidelity rater"):
        _rate(ctx, group, facilitator, [4] * 13)
    rita, rolf = user("rita", "fidelity_rater"), user("rolf", "fidelity_rater")
    first = _rate(ctx, group, rita, [4] * 13)
    with pytest.raises(UserError, match="double rating rule: the second rating must come from another rater"):
        _rate(ctx, group, rita, [4] * 13, double_of=first)
    _rate(ctx, group, rolf, [4] * 12 + [5], double_of=first)
    with pytest.raises(UserError, match=f"double rating rule: rating {first.pk} is already double-rated"):
        _rate(ctx, group, user("ruth", "fidelity_rater"), [4] * 13, double_of=first)


def test_double_rating_draws_are_seeded_reproducible_and_near_the_share(setup):
    ctx, group, _ = setup
    rater = user("rita", "fidelity_rater")
    with clock.frozen(LATER):
        plan = services.set_double_rating_plan(0.25, ctx, seed=20110301)
    ratings = [_rate(ctx, group, rater, [4] * 13) for _ in range(40)]
    drawn = [r.selected_for_double for r in ratings]
    # Re-drawn independently from the stored seed and rating ids with numpy's documented generator:
    again = [np.random.default_rng([plan.seed, r.pk]).random() < 0.25 for r in ratings]
    assert drawn == again
    assert {r.draw_seed for r in ratings} == {20110301}
    assert 4 <= sum(drawn) <= 16  # Binomial(40, 0.25): mean 10, this covers > 99 %
    assert {r.pk for r in services.awaiting_double()} == {r.pk for r in ratings if r.selected_for_double}
    with pytest.raises(UserError, match="between 0 and 1"):
        services.set_double_rating_plan(1.5, ctx)


def test_reliability_goes_through_the_agreement_module(setup):
    ctx, group, _ = setup
    rita, rolf = user("rita", "fidelity_rater"), user("rolf", "fidelity_rater")
    firsts = [[3] * 13, [4] * 13, [5] * 13, [2] * 13]
    seconds = [[3] * 13, [4] * 12 + [5], [4] * 13, [2] * 13]
    for a, b in zip(firsts, seconds, strict=True):
        _rate(ctx, group, rolf, b, double_of=_rate(ctx, group, rita, a))
    result = fidelity.reliability()
    assert result["pairs"] == 4
    from trialdesk.stats.agreement import icc

    expected = icc(np.array([[3, 3], [4, 4 + 1 / 13], [5, 4], [2, 2]]))
    assert result["icc"]["estimate"] == pytest.approx(expected.iloc[0]["estimate"])
    assert result["icc"]["ci_low"] == pytest.approx(expected.iloc[0]["ci_low"])
    kappa = result["kappa"].set_index("item")
    assert list(kappa.index) == [str(i) for i in range(1, 14)]
    # Item 1: 3/3, 4/4, 5/4, 2/2 -> 3 of 4 agree; linearly weighted kappa of that table by hand:
    # categories 2..5 used; weights 1 - |i-j|/4 over the 5 categories 1..5.
    assert kappa.loc["1", "agreement"] == 0.75
    p_obs = (3 * 1 + 1 * 0.75) / 4
    rows, cols = {2: 1, 3: 1, 4: 1, 5: 1}, {2: 1, 3: 1, 4: 2}
    p_exp = sum(rows[i] * cols[j] * (1 - abs(i - j) / 4) for i in rows for j in cols) / 16
    assert kappa.loc["1", "kappa"] == pytest.approx((p_obs - p_exp) / (1 - p_exp))


def test_reliability_with_too_few_pairs_says_so(setup):
    ctx, group, _ = setup
    _rate(
        ctx,
        group,
        user("rolf", "fidelity_rater"),
        [4] * 13,
        double_of=_rate(ctx, group, user("rita", "fidelity_rater"), [4] * 13),
    )
    result = fidelity.reliability()
    assert result["pairs"] == 1 and result["icc"] is None
    assert result["note"] == "inter-rater reliability needs at least 2 double-rated occasions"


def test_drift_by_site_and_facilitator_over_quarters(setup):
    ctx, group, _ = setup
    rita = user("rita", "fidelity_rater")
    for on, value in [
        (dt.date(2011, 4, 1), 4),
        (dt.date(2011, 5, 1), 5),
        (dt.date(2011, 8, 1), 3),
        (dt.date(2011, 11, 1), 3),
    ]:
        _rate(ctx, group, rita, [value] * 13, on=on)
    by_site = services.fidelity.drift("site")
    assert by_site[["site", "period", "n", "mean_score", "change"]].values.tolist() == [
        ["BAL", "2011Q2", 2, 4.5, 0.0],
        ["BAL", "2011Q3", 1, 3.0, -1.5],
        ["BAL", "2011Q4", 1, 3.0, -1.5],
    ]
    assert by_site["trend_per_year"].iloc[0] < 0
    by_facilitator = services.fidelity.drift("facilitator")
    assert set(by_facilitator["facilitator"]) == {"frida-bal", "finn-bal"}
    assert len(by_facilitator) == 6


def test_goals_steps_and_follow_up_at_held_sessions(setup):
    ctx, group, people = setup
    session = group.sessions.get(number=1)
    with clock.frozen(imr.at_local(dt.date(2011, 3, 8))):
        services.hold_session(
            session, minutes=90, modules=[1], facilitators_present=list(group.facilitators.all()), context=ctx
        )
        goal = services.add_goal(people[0], "Get back to work part-time", dt.date(2011, 3, 8), ctx)
        step = services.add_step(goal, "Call the job centre", ctx)
        services.record_follow_up(goal, session, progress="some", home_assignment_done=True, context=ctx)
        services.complete_step(step, dt.date(2011, 3, 8), ctx)
        with pytest.raises(UserError, match="a reason is required"):
            services.record_follow_up(goal, session, progress="good", home_assignment_done=True, context=ctx)
        services.record_follow_up(
            goal, session, progress="good", home_assignment_done=True, context=ctx, reason="typo"
        )
        with pytest.raises(UserError, match="follow-up rule: session 2 is planned"):
            services.record_follow_up(
                goal, group.sessions.get(number=2), progress="good", home_assignment_done=None, context=ctx
            )
    assert GoalFollowUp.objects.get(goal=goal).progress == "good"
    assert RecoveryGoal.objects.get().steps.get().done_on == dt.date(2011, 3, 8)
    assert LedgerEntry.objects.filter(entity__startswith="imr-goal").count() == 5


def test_goals_are_for_intervention_participants_only(setup):
    ctx, _, _ = setup
    _, tau = imr.randomised(ctx, 0, n_tau=1)
    before = (RecoveryGoal.objects.count(), LedgerEntry.objects.count())
    with pytest.raises(UserError, match="arm rule"):
        services.add_goal(tau[0], "x", dt.date(2011, 3, 8), ctx)
    assert (RecoveryGoal.objects.count(), LedgerEntry.objects.count()) == before


def test_the_double_rating_draw_rejects_a_share_outside_0_1():
    with pytest.raises(UserError, match="between 0 and 1"):
        fidelity_analysis.selected_for_double(1, 1, -0.1)


def test_the_ratings_frame_fits_the_fidelity_analysis_table(setup):
    from trialdesk import datasets

    ctx, group, _ = setup
    rita, rolf = user("rita", "fidelity_rater"), user("rolf", "fidelity_rater")
    first = _rate(ctx, group, rita, [4, 5, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, None])
    _rate(ctx, group, rolf, [4] * 13, double_of=first)
    table = datasets.check("fidelity", fidelity.ratings_frame())
    assert list(table.columns) == datasets.TABLES["fidelity"].column_names
    assert table.loc[0, "items"] == "4;5;3;4;4;4;4;4;4;4;4;4;"  # item 13 missing (allowed: 2 of 13)
    assert table.loc[0, "score"] == pytest.approx(48 / 12)
    assert table.loc[1, "double_of"] == str(first.pk)
