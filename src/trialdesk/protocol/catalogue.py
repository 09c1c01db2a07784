"""Which instruments exist and which scores each has, for checking a protocol's references."""

from __future__ import annotations

from collections.abc import Mapping

# Fallback used only while the instrument library cannot be imported (it is built in parallel);
# the codes and score names are those fixed in notes/interfaces.md.
_FALLBACK_SCORES: dict[str, tuple[str, ...]] = {
    "gaf_f": ("total",), "gaf_s": ("total",), "psp": ("total",),
    "panss": ("total", "positive", "negative", "general"),
    "hamd17": ("total",), "ymrs": ("total",), "audit": ("total",), "dudit": ("total",),
    "mhrm": ("total",), "ashs": ("total", "agency", "pathways"), "csq8": ("total",),
    "imrs_client": ("total",), "imrs_clinician": ("total",), "imr_fidelity": ("total",),
    "baseline": ("total",),
}  # fmt: skip


def instrument_scores() -> Mapping[str, tuple[str, ...]]:
    """Instrument code -> its score names (always starting with "total")."""
    try:
        from trialdesk.instruments import get_library
    except ImportError:
        return _FALLBACK_SCORES
    library = get_library()
    return {code: tuple(library.get(code).score_names) for code in library.codes()}
