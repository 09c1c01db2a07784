"""A refused input with one message per field, so forms can show each at its field."""

from __future__ import annotations

from collections.abc import Mapping

from trialdesk.errors import UserError


class InputError(UserError):
    """Refused input: ``fields`` maps each field (or criterion code) to what is wrong with it."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.fields = dict(problems)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.fields.items()))
