"""What the write services of clinical data call: the lock check before writing, the edit checks after.

Imported by the assessments, registers and intervention services; the queries module is loaded on first
use because it reads the assessments app's models and schedule (importing it here would be circular).
"""

from __future__ import annotations

from typing import Any

from .locks import ensure_unlocked


def raise_automatic_queries(assessment: Any, context: Any) -> list:
    from .queries import raise_automatic_queries as run

    return run(assessment, context)


def raise_automatic_queries_many(assessments: list, context: Any) -> list:
    from .queries import raise_automatic_queries_many as run

    return run(assessments, context)


__all__ = ["ensure_unlocked", "raise_automatic_queries", "raise_automatic_queries_many"]
