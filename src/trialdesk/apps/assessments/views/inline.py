"""Checking one item of an entry form as it is typed (htmx): the instrument's own rule, nothing stored.

The form's fields post their value here (with the form's CSRF token) a moment after the user stops typing;
the answer is only the text of the field's error region, empty when the value is allowed. The user must be
allowed to enter the form (``can_enter``), as for saving it; reading it is not enough. Nothing is written,
so nothing goes to the ledger; the submission still checks every value again.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_POST

from trialdesk.instruments import get_library

from ..access import can_enter
from ..services.entry import check_values
from .common import participant_for
from .forms import visit_for


@login_required
@require_POST
def check_item(request, trial_id: str, visit: str, instrument: str, item: str):
    participant = participant_for(request, trial_id)
    if instrument not in get_library():
        raise Http404("no such instrument")
    definition = get_library().get(instrument)
    if item not in definition.item_map or instrument not in visit_for(participant, visit).instruments:
        raise Http404("no such item on this visit's forms")
    if not can_enter(request.user, instrument, participant):
        raise PermissionDenied("your role may not enter this form")
    field = f"item_{item}"
    # A draft's rules: an empty field is allowed until the form is completed.
    _values, problems = check_values(definition, {item: request.POST.get(field, "")}, complete=False)
    return render(request, "assessments/_field_error.html", {"error": problems.get(field, "")})
