"""Partial pages for htmx: a view answers an htmx request with the region it updates, any other request
with the whole page.

The view makes its permission checks before it renders, so both answers pass the same ``allowed()``
check; the full page includes the partial template, so the two cannot drift apart. Pages keep working
without JavaScript: the forms and links htmx enhances are ordinary GET/POST forms and links.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_partial(request: HttpRequest) -> bool:
    """An htmx request for part of a page (a history restore asks for the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def render_page(
    request: HttpRequest, template: str, partial: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """``partial`` to an htmx request, ``template`` (which includes it) to any other."""
    part = wants_partial(request)
    # ``partial`` in the context: the region's template adds what only an update needs (the live status).
    response = render(request, partial if part else template, {**context, "partial": part}, status=status)
    # One address, two answers: caches and the browser's back/forward cache must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response
