"""Danish CPR numbers: format, real birth date, century from the 7th digit.

The modulus-11 check is deliberately not applied: since 2007 the CPR office issues numbers that fail
it. The century table is the CPR office's (CPR-kontoret, "Personnummeret i CPR-systemet", 2008).
"""

from __future__ import annotations

import datetime as dt
import re

from trialdesk.errors import UserError
from trialdesk.errors import gettext as _

_FORMAT = re.compile(r"^(\d{2})(\d{2})(\d{2})-?(\d{4})$")


def _century(seventh: int, yy: int) -> int:
    """The century of the birth year, from the 7th digit and the two-digit year (CPR office table)."""
    if seventh <= 3:
        return 1900
    if seventh in (4, 9):
        return 2000 if yy <= 36 else 1900
    # 5, 6, 7, 8
    return 2000 if yy <= 57 else 1800


def normalise(text: str) -> str:
    """``DDMMYY-SSSS`` from input with or without the hyphen and surrounding spaces."""
    match = _FORMAT.match(text.strip())
    if not match:
        raise UserError(_("CPR number must be 10 digits written DDMMYY-SSSS"))
    day, month, yy, serial = match.groups()
    return f"{day}{month}{yy}-{serial}"


def birth_date(cpr: str) -> dt.date:
    """The birth date a CPR number encodes; UserError if it is not a real date."""
    normal = normalise(cpr)
    day, month, yy, seventh = int(normal[0:2]), int(normal[2:4]), int(normal[4:6]), int(normal[7])
    year = _century(seventh, yy) + yy
    try:
        return dt.date(year, month, day)
    except ValueError:
        # The message names the rule, never the number itself.
        raise UserError(_("CPR number does not start with a real birth date (DDMMYY)")) from None


def validate(cpr: str) -> str:
    """Normalised CPR number, or UserError naming the broken rule (never echoing the number)."""
    normal = normalise(cpr)
    birth_date(normal)
    return normal


def age_on(cpr: str, day: dt.date) -> int:
    born = birth_date(cpr)
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
