"""Which instruments exist and which scores each has, for checking a protocol's references."""

from __future__ import annotations

from collections.abc import Mapping


def instrument_scores() -> Mapping[str, tuple[str, ...]]:
    """Instrument code -> its score names, from the instrument library ("total" plus any subscales)."""
    from trialdesk.instruments import get_library  # imported when checking, not when importing protocol

    library = get_library()
    return {code: tuple(library.get(code).score_names) for code in library.codes()}
