"""PDF from the report's HTML with xhtml2pdf: pure Python (ReportLab underneath), no system package.

Why xhtml2pdf: WeasyPrint renders CSS better but needs Pango, a system library, and the main job must
need none; headless Chromium is a system package too. xhtml2pdf installs from PyPI alone and draws SVG
given as an ``<img>`` through svglib — vector figures in the PDF, no rasterising. It does not read
inline ``<svg>`` elements, so each one is handed over as an ``image/svg+xml`` data URI, sized to fit
the page. ReportLab's ``invariant`` mode leaves out the creation date and random document id, so the
same HTML gives the same PDF bytes.

xhtml2pdf parses each SVG image twice — once to measure it when the ``<img>`` is read, once more to
draw it — and parsing (svglib) was a quarter of the PDF's time. :func:`_parse_svg_once` keeps the
first parse on the image and hands it back for the draw (the measuring pass only reads the drawing's
bounds, so it is the same drawing a second parse would give, and the PDF bytes are unchanged).
"""

from __future__ import annotations

import base64
import io
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PAGE_WIDTH_PT = 480.0  # A4 (595 pt) less the margins set below
# xhtml2pdf lays tables out simply: smaller type, wrapping allowed, a wide first column.
PAGE_CSS = """@page { size: a4 portrait; margin: 1.6cm 1.6cm 1.8cm 1.6cm; }
body { max-width: none; margin: 0; font-size: 9.5pt; }
table { font-size: 8pt; }
table.outcomes td.level { white-space: normal; }
table.outcomes { width: 100%; }
table.outcomes th.first { width: 19%; }
table.outcomes th.mean { width: 11%; }
table.outcomes th.count { width: 5%; }
table.outcomes th.model { width: 12%; }
table.outcomes th.effect { width: 17%; }
table.outcomes th.pvalue { width: 6%; }
p.caption { font-size: 8pt; color: #444444; }"""
_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
_UNITS = {"pt": 1.0, "px": 0.75, "": 0.75, "in": 72.0, "cm": 72 / 2.54, "mm": 72 / 25.4}
_PARSED = "_trialdesk_parsed_svg"
# ReportLab's invariant flag and the patch below are process-wide while a PDF is made: one at a time.
_RENDERING = threading.Lock()


def _size(svg: str) -> tuple[float, float]:
    """Width and height of an SVG root element in points (px taken at 96 per inch)."""
    head = svg[: svg.index(">")]
    out = []
    for attribute in ("width", "height"):
        found = re.search(rf'\b{attribute}="([\d.]+)\s*(pt|px|in|cm|mm)?"', head)
        out.append(float(found.group(1)) * _UNITS[found.group(2) or ""] if found else 300.0)
    return out[0], out[1]


def _as_image(match: re.Match[str]) -> str:
    svg = match.group(0)
    width, height = _size(svg)
    scale = min(1.0, PAGE_WIDTH_PT / width)
    if 'xmlns="http://www.w3.org/2000/svg"' not in svg[: svg.index(">")]:
        svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<img src="data:image/svg+xml;base64,{data}" width="{width * scale:.0f}pt" '
        f'height="{height * scale:.0f}pt"/>'
    )


def printable(html: str) -> str:
    """The HTML as xhtml2pdf wants it: inline SVG as data-URI images, page size and margins set.

    xhtml2pdf treats the HTML5 ``figure``/``figcaption`` elements as inline text, so they become a
    ``div`` and a ``p``.
    """
    html = _SVG.sub(_as_image, html)
    html = html.replace("<figure>", "<div>").replace("</figure>", "</div>")
    html = html.replace("<figcaption>", '<p class="caption">').replace("</figcaption>", "</p>")
    return html.replace("</style>", PAGE_CSS + "\n</style>", 1)


@contextmanager
def _parse_svg_once() -> Iterator[None]:
    """While active, an SVG image's second ``getDrawing`` (to draw it) reuses its first parse."""
    from xhtml2pdf import xhtml2pdf_reportlab as xr

    image_class: Any = getattr(xr, "PmlImage", None)
    parse = getattr(xr, "svg2rlg", None)
    if image_class is None or parse is None or not hasattr(image_class, "getDrawing"):
        yield  # another xhtml2pdf layout: parse twice as it does
        return
    original = image_class.getDrawing

    def get_drawing(self: Any, width: float | None = None, height: float | None = None) -> Any:
        parsed = self.__dict__.pop(_PARSED, None)
        if parsed is None:
            drawing = original(self, width, height)
            if drawing is not None and getattr(self, "drawWidth", None) is None:
                setattr(self, _PARSED, drawing)  # the measuring call, from the image's constructor
            return drawing
        xr.svg2rlg = lambda *args, **kwargs: parsed  # xhtml2pdf then sizes it as it would a new parse
        try:
            return original(self, width, height)
        finally:
            xr.svg2rlg = parse

    image_class.getDrawing = get_drawing
    try:
        yield
    finally:
        image_class.getDrawing = original


def html_to_pdf(html: str, path: str | Path) -> Path:
    """Write the PDF of ``html`` to ``path`` and return the path; raises RuntimeError if rendering fails."""
    from reportlab import rl_config
    from xhtml2pdf import pisa

    target = Path(path)
    buffer = io.BytesIO()
    before = rl_config.invariant
    quiet = [logging.getLogger(name) for name in ("xhtml2pdf", "svglib", "svglib.svglib")]
    levels = [logger.level for logger in quiet]
    with _RENDERING:
        rl_config.invariant = 1
        for logger in quiet:  # xhtml2pdf logs every CSS property it skips; not the user's concern
            logger.setLevel(logging.ERROR)
        try:
            # capacity=-1 keeps xhtml2pdf's buffers in memory: its spill-to-disk temporary files are
            # left for the garbage collector to close (a ResourceWarning), and a report fits in memory.
            with _parse_svg_once():
                status = pisa.CreatePDF(printable(html), dest=buffer, encoding="utf-8", capacity=-1)
        finally:
            rl_config.invariant = before
            for logger, level in zip(quiet, levels, strict=True):
                logger.setLevel(level)
    if status.err:
        raise RuntimeError(f"PDF rendering failed with {status.err} error(s)")
    target.write_bytes(buffer.getvalue())
    return target
