"""The REST API: one NinjaAPI with token authentication, JSON errors and a router per domain.

Served under /api/: the OpenAPI 3 description at /api/openapi.json and its Swagger UI page at /api/docs
(Swagger UI's files come from django-ninja's own static files, so the page needs no outside host and
passes the Content Security Policy; see ``docs.SelfHostedSwagger``).
"""

from __future__ import annotations

import functools

from django.http import HttpResponseNotAllowed, JsonResponse
from django.urls import URLPattern, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI

from . import errors
from .auth import TokenAuth
from .docs import SelfHostedSwagger
from .routers import (
    assessments,
    consent,
    exports,
    me,
    participants,
    queries,
    randomisation,
    screening,
    visits,
)

DESCRIPTION = """The trialdesk REST API. Authenticate with a personal token: `Authorization: Bearer td_…`
(make one on the web under *API tokens*, or `trialdesk token create --user U`). Every operation checks
the same permissions as the web pages and is recorded in the audit ledger with channel `api`.

Refusals are JSON `{"detail": "...", "field": "..."}`: 400 malformed, 401 no valid token, 403 not
allowed, 404 not found or not at your sites, 409 conflicts with the record's state (or an
`Idempotency-Key` reused for a different request), 422 invalid input (`field` names it).

Randomisation and form submissions accept an `Idempotency-Key` header: a retry with the same key and
body gets the first response again and changes nothing."""

api = NinjaAPI(
    title="trialdesk API",
    version="1",
    description=DESCRIPTION,
    auth=TokenAuth(),
    urls_namespace="api",
    docs=SelfHostedSwagger(),
)
errors.install(api)

ROUTES = (
    me.routes, participants.routes, screening.routes, consent.routes, randomisation.routes,
    visits.routes, assessments.routes, queries.routes, exports.routes,
)  # fmt: skip
for routes in ROUTES:
    api.add_router(routes.prefix, routes.router)


def _json_not_allowed(view):
    """ninja answers a wrong method with a plain-text 405; answer JSON like every other refusal."""

    @functools.wraps(view)
    def run(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            methods = response["Allow"]
            detail = _("%(method)s is not allowed here (allowed: %(methods)s)") % {
                "method": request.method, "methods": methods}
            answer = JsonResponse({"detail": detail, "field": None}, status=405)
            answer["Allow"] = methods
            return answer
        return response

    return run


def _unknown(request, rest: str = ""):
    return JsonResponse({"detail": _("no API endpoint %(path)s") % {"path": request.path}, "field": None},
                        status=404)


def urls() -> tuple[list, str, str]:
    """The API's URL patterns for ``path("api/", ...)``, with JSON 404 and 405 answers."""
    patterns, app_name, namespace = api.urls
    wrapped = [URLPattern(p.pattern, _json_not_allowed(p.callback), p.default_args, p.name) for p in patterns]
    return [*wrapped, re_path(r"^(?P<rest>.*)$", csrf_exempt(_unknown))], app_name, namespace
