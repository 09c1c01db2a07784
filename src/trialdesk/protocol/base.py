"""The base every protocol model shares: frozen, strict about unknown keys, documented fields."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# A short identifier used to cross-reference parts of the protocol (sites, arms, visits, outcomes...).
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=40)]
# A non-empty piece of human-readable text.
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class Model(BaseModel):
    """Frozen (records made under a protocol must not see it change) and ``extra="forbid"`` so that a
    misspelt key in the TOML file is reported instead of silently ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)
