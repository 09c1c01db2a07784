"""Canonical form and content hash of a validated protocol.

The hash is taken over the validated model, not the file, so whitespace, comments, key order and
``6`` versus ``6.0`` for a float field do not change it; any value does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel


def canonical_json(model: BaseModel) -> str:
    """JSON with sorted keys and no insignificant whitespace; dates as ISO 8601 strings."""
    data: Any = model.model_dump(mode="json")
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_hash(model: BaseModel) -> str:
    """SHA-256 hex digest of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(model).encode("utf-8")).hexdigest()
