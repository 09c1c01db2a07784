"""``Idempotency-Key``: a retried request gets the first one's response instead of acting twice.

The key is claimed (a row, unique per user and key) before the work runs, so two concurrent requests
with one key cannot both act: the second is told the first is still running (409). When the work
succeeds its response is stored with the claim; when it is refused (a 4xx) the claim is released, since
nothing was stored and a corrected retry should be able to use the key. The same key with a different
method, path or body is refused (409, field ``Idempotency-Key``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from trialdesk import clock

from .errors import ApiError
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY = 200


def fingerprint(request) -> str:
    try:
        body: Any = json.loads(request.body or b"null")
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = request.body
    head = f"{request.method} {request.path}\n".encode()
    return hashlib.sha256(head + canonical).hexdigest()


def _conflict(detail: str) -> ApiError:
    return ApiError(409, detail, HEADER)


def replay_or_run(request, key: str | None, work: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
    """Run ``work`` (returning status and a JSON-able body) once per key; replay its answer after that."""
    if key is None:
        return work()
    key = key.strip()
    if not key or len(key) > MAX_KEY:
        problem = _("%(header)s must be 1 to %(most)s characters") % {"header": HEADER, "most": MAX_KEY}
        raise ApiError(422, problem, HEADER)
    mark = fingerprint(request)
    try:
        with transaction.atomic():
            claim = IdempotencyRecord.objects.create(
                user=request.user, key=key, fingerprint=mark, created_at=clock.now()
            )
    except IntegrityError:
        earlier = IdempotencyRecord.objects.get(user=request.user, key=key)
        if earlier.fingerprint != mark:
            raise _conflict(
                _("this %(header)s was used for a different request; use a new key for a new request") % {
                    "header": HEADER}
            ) from None
        if earlier.status is None:
            raise _conflict(
                _("a request with this %(header)s is still being processed; retry shortly") % {
                    "header": HEADER}
            ) from None
        return earlier.status, earlier.response
    try:
        status, body = work()
    except BaseException:
        IdempotencyRecord.objects.filter(pk=claim.pk).delete()
        raise
    IdempotencyRecord.objects.filter(pk=claim.pk).update(status=status, response=body)
    return status, body
