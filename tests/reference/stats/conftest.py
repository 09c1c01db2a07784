"""Shared helpers for the statistics reference tests: R's stored output, parsed.

Each R script in r/ prints, beside its ordinary summaries, lines ``@ <tag> <kind> <name> <value>`` with
12 significant digits; its output is stored as r/<script>.out. CI has no R: the tests read those files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

HERE = Path(__file__).parent


def parse_r_output(name: str) -> dict[tuple[str, str, str], float]:
    values: dict[tuple[str, str, str], float] = {}
    for line in (HERE / "r" / f"{name}.out").read_text().splitlines():
        if line.startswith("@ "):
            parts = line.split(" ")
            tag, kind, value = parts[1], parts[2], parts[-1]
            key = " ".join(parts[3:-1])
            values[(tag, kind, key)] = float(value)
    return values


@pytest.fixture(scope="session")
def r_output() -> Callable[[str], dict[tuple[str, str, str], float]]:
    return parse_r_output


@pytest.fixture(scope="session")
def reference_data() -> Callable[[str], pd.DataFrame]:
    def load(name: str) -> pd.DataFrame:
        return pd.read_csv(HERE / "data" / f"{name}.csv")

    return load
