"""Regenerate the reference pages under docs/reference from the code (``make docs``).

Each page is produced by the module that owns the facts, so the docs cannot drift from the code; the
test suite fails when a committed page differs from what its generator writes.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

#: page -> "module:function" returning the page's Markdown.
PAGES: dict[str, str] = {
    "cli.md": "trialdesk.cli.reference:render",
    "instruments.md": "trialdesk.instruments.docs:render",
    "protocol.md": "trialdesk.protocol.docs:render",
}


def generators() -> dict[str, Callable[[], str]]:
    out = {}
    for page, target in PAGES.items():
        module, function = target.split(":")
        out[page] = getattr(importlib.import_module(module), function)
    return out


def write(root: Path) -> list[Path]:
    written = []
    for page, render in generators().items():
        path = root / "docs" / "reference" / page
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render())
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path.cwd()):
        print(f"wrote {path}", file=sys.stderr)
