"""``settle()``: a server process loads its views and instruments before its first request and freezes
them, so the collector's full collections skip them (docs/performance.md)."""

import gc
import sys

from trialdesk.web.heap import settle


def test_settle_loads_the_views_and_freezes_what_exists():
    gc.unfreeze()
    try:
        settle()
        frozen = gc.get_freeze_count()
        views = {"trialdesk.apps.assessments.views.inline", "trialdesk.apps.accounts.staff_views"}
        assert views <= set(sys.modules)
        # The frozen objects are no longer tracked by any generation: a full collection skips them.
        tracked = len(gc.get_objects())
        assert frozen > 10_000 and tracked < frozen
    finally:
        gc.unfreeze()
