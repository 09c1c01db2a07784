"""The arm letters of blinded data: drawn once per trial, stored, and the same in every later export."""

from __future__ import annotations

import secrets
import string

import numpy as np
from django.db import IntegrityError, transaction

from trialdesk import clock
from trialdesk.apps.ledger.services import Context, append
from trialdesk.apps.trial.services import active_protocol

from .models import ArmLetter

ALGORITHM = "numpy-default_rng(seed).permutation(arms)->A,B/v1"


def _draw(arms: list[str], seed: int) -> dict[str, str]:
    order = np.random.default_rng(seed).permutation(len(arms))
    return {arms[int(index)]: string.ascii_uppercase[position] for position, index in enumerate(order)}


def arm_letters(context: Context | None = None) -> dict[str, str]:
    """Arm code -> letter, drawing and storing the letters at first use.

    Only the export and snapshot code calls this, to replace arms; it never shows the mapping to anyone.
    """
    stored = dict(ArmLetter.objects.values_list("arm", "letter"))
    arms = [arm.code for arm in active_protocol().arms]
    if all(arm in stored for arm in arms):
        return stored
    seed = secrets.randbits(63)
    drawn = _draw(arms, seed)
    try:
        with transaction.atomic():
            if ArmLetter.objects.exists():
                # Letters exist but the protocol gained an arm: give it the next free letter.
                used = set(stored.values())
                free = (letter for letter in string.ascii_uppercase if letter not in used)
                drawn = {arm: next(free) for arm in arms if arm not in stored}
            now = clock.now()
            ArmLetter.objects.bulk_create(
                ArmLetter(arm=arm, letter=letter, seed=seed, algorithm=ALGORITHM, drawn_at=now)
                for arm, letter in drawn.items()
            )
            append(
                context or Context(actor="system", channel="system"),
                action="draw",
                entity="arm-letters",
                new={"arms": len(drawn), "algorithm": ALGORITHM},  # never the mapping itself
            )
    except IntegrityError:
        pass  # another process drew them at the same moment: theirs stand
    return dict(ArmLetter.objects.values_list("arm", "letter"))


def blind(values, letters: dict[str, str]):
    """Replace arm codes in an iterable of values; other values (e.g. ``dont_know``) pass through."""
    return [letters.get(value, value) if isinstance(value, str) else value for value in values]
