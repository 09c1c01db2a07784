"""A server process made ready before its first request, its long-lived objects kept from the collector.

Without this, a worker imported its views, the instrument library and the scientific libraries at its
first requests, and CPython's full (generation 2) collections walked the ~300,000 objects they leave
alive for the life of the process: 80 to 360 ms each, every thread of the process stopped, although none
of those objects ever becomes garbage. Loading them up front, then freezing what exists (``gc.freeze``),
moves them to a permanent generation the collector skips; a full collection then took 1.3 ms. In the load
test with the assessors alone, the p95 of a form submission fell from 190-360 ms to 100-190 ms
(docs/performance.md).
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Call once per server process, after Django is set up and before the first request."""
    from django.urls import get_resolver

    from trialdesk.instruments import get_library

    get_resolver().url_patterns  # noqa: B018 -- imports every view module now, not at the first request
    get_library()
    gc.collect()
    gc.freeze()
