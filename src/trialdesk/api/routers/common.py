"""What the routers share: the acting context (channel ``api``), dates, arm visibility, paging."""

from __future__ import annotations

from django.http import JsonResponse
from ninja import Schema

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.trial.services import active_hash

MAX_LIMIT = 500


def context_for(request) -> Context:
    return Context(actor=request.user.get_username(), channel="api", protocol_hash=active_hash())


def may_see_arm(request, participant) -> bool:
    return allowed(request.user, "view-allocation", participant)


class Page(Schema):
    total: int
    limit: int
    offset: int


def page_bounds(limit: int, offset: int) -> tuple[int, int]:
    return max(1, min(limit, MAX_LIMIT)), max(0, offset)


#: Trial ids as issued (site prefix, dash, running number); also keeps odd text out of look-ups.
TRIAL_ID = r"^[A-Za-z0-9]{1,10}-[0-9]{1,8}$"
#: Visit, instrument and table codes from the protocol and data dictionary.
CODE = r"^[a-z0-9_]{1,40}$"


def respond(status: int, body: object) -> JsonResponse:
    """A JSON answer built (or replayed) by :func:`..idempotency.replay_or_run`."""
    return JsonResponse(body, status=status, safe=False)
