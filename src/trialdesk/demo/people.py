"""Made-up identities for simulated people: valid CPR numbers from birth date and sex, and names.

No Django here. A CPR number is ``DDMMYY-SSSS``: the 7th digit tells the century (the CPR office's
table, as :mod:`trialdesk.apps.participants.cpr` reads it) and the last digit the sex (odd = male).
The serial's middle digits count people born on the same day, so numbers never repeat.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

FIRST_NAMES = {
    "male": (
        "Anders",
        "Bo",
        "Christian",
        "Emil",
        "Frederik",
        "Henrik",
        "Jens",
        "Kasper",
        "Lars",
        "Mikkel",
        "Niels",
        "Ole",
        "Peter",
        "Rasmus",
        "Søren",
        "Thomas",
    ),
    "female": (
        "Anne",
        "Birgitte",
        "Camilla",
        "Dorthe",
        "Eva",
        "Hanne",
        "Ida",
        "Karen",
        "Lise",
        "Maria",
        "Mette",
        "Nanna",
        "Pia",
        "Rikke",
        "Sofie",
        "Tina",
    ),
}
SURNAMES = (
    "Andersen",
    "Christensen",
    "Hansen",
    "Jensen",
    "Johansen",
    "Larsen",
    "Madsen",
    "Mortensen",
    "Nielsen",
    "Olsen",
    "Pedersen",
    "Petersen",
    "Rasmussen",
    "Sørensen",
    "Thomsen",
    "Poulsen",
)


def seventh_digit(born: dt.date) -> int:
    """A 7th digit the CPR century table reads back as ``born.year``'s century."""
    if 1900 <= born.year <= 1999:
        return 0
    if 2000 <= born.year <= 2036:
        return 4
    if 2037 <= born.year <= 2057 or 1858 <= born.year <= 1899:
        return 5
    raise ValueError(f"no CPR number can encode birth year {born.year}")


class CprBook:
    """Hands out a distinct valid CPR number per (birth date, sex); the same person asks only once."""

    def __init__(self) -> None:
        self._used: defaultdict[dt.date, int] = defaultdict(int)

    def issue(self, born: dt.date, sex: str) -> str:
        count = self._used[born]
        self._used[born] += 1
        if count >= 500:
            raise ValueError(f"more than 500 people born on {born}")
        middle, last = divmod(count, 5)
        # odd last digit for men, even for women (CPR office rule)
        digit = 2 * last + (1 if sex == "male" else 0)
        return f"{born:%d%m%y}-{seventh_digit(born)}{middle:02d}{digit}"


def name_of(index: int, sex: str) -> str:
    """A plausible Danish name, the same for the same index."""
    firsts = FIRST_NAMES["male" if sex == "male" else "female"]
    return f"{firsts[index % len(firsts)]} {SURNAMES[(index // len(firsts) + index) % len(SURNAMES)]}"
