"""ICD-10 codes as screeners type them, and matching against a criterion's code set."""

from __future__ import annotations

import re
from collections.abc import Iterable

from trialdesk.errors import UserError
from trialdesk.errors import gettext as _

# A WHO ICD-10 code: letter, two digits, optionally a dot and one or two more digits (F20, F20.0, F31.81).
_CODE = re.compile(r"^([A-Z])(\d{2})\.?(\d{1,2})?$")


def normalise(code: str) -> str:
    """``F20.0`` from ``f20.0``, ``F200`` or `` F20.0 ``; UserError naming the code otherwise."""
    text = code.strip().upper()
    match = _CODE.match(text)
    if not match:
        raise UserError(
            _("%(code)s is not an ICD-10 code (a letter, two digits, optionally .digit, e.g. F20.0)") % {
                "code": repr(code.strip())}
        )
    letter, digits, detail = match.groups()
    return f"{letter}{digits}.{detail}" if detail else f"{letter}{digits}"


def parse_list(text: str) -> list[str]:
    """Codes separated by commas, semicolons or spaces, normalised, duplicates removed, order kept."""
    codes: list[str] = []
    for part in re.split(r"[,;\s]+", text.strip()):
        if part:
            code = normalise(part)
            if code not in codes:
                codes.append(code)
    return codes


def matches(code: str, code_set: Iterable[str]) -> str | None:
    """The member of ``code_set`` that ``code`` falls under (F20.0 under F20), or None."""
    for category in code_set:
        if (
            code == category
            or code.startswith(category + ".")
            or ("." in category and code.startswith(category))
        ):
            return category
    return None
