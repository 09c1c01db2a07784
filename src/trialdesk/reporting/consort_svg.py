"""The CONSORT 2025 flow diagram as SVG text.

Written by hand because no maintained Python library draws CONSORT diagrams (the R packages
``consort`` and ``ggconsort`` do; Python has only graphviz-based recipes, and graphviz is a system
package the main job must not need). Plain ``<rect>``, ``<text>``, ``<line>`` and ``<polygon>``
elements only — arrowheads are polygons, not markers — so browsers and svglib (the PDF route) draw
it alike. It carries a ``<title>`` and a ``<desc>`` with every count, so a screen reader reads the
whole flow.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape

from trialdesk.reporting.arms import ArmView
from trialdesk.reporting.consort import ConsortCounts

WIDTH = 840
GUTTER = 118  # phase labels on the left
LINE = 16
PAD = 8
CHAR = 6.4  # average advance of a 12 px sans-serif character, for wrapping
FONT = "Helvetica, Arial, sans-serif"
CLOSED_ONLY = "shown in the closed report"


@dataclass
class Line:
    text: str
    indent: int = 0
    bold: bool = False


@dataclass
class Box:
    x: float
    y: float
    w: float
    lines: list[Line]

    @property
    def h(self) -> float:
        return 2 * PAD + LINE * len(self.lines)

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h


def _wrap(lines: list[Line], width: float) -> list[Line]:
    out: list[Line] = []
    for line in lines:
        chars = max(12, int((width - 2 * PAD - 14 * line.indent) / CHAR))
        parts = textwrap.wrap(line.text, chars) or [""]
        out.append(Line(parts[0], line.indent, line.bold))
        out += [Line(p, line.indent + 1, line.bold) for p in parts[1:]]  # hanging indent
    return out


def _n(n: int) -> str:
    """The count as "(n = 5)" with no-break spaces, so wrapping never splits it from its label."""
    return f"(n\u00a0=\u00a0{n})"


def _reasons(
    counter: Counter[str], labels: Mapping[str, str] | None = None, with_code: bool = False
) -> list[Line]:
    def label(code: str) -> str:
        if labels and code in labels:
            text = labels[code].split(" (")[0].split(" — ")[0]
            return f"{code} {text}" if with_code else text
        return code.replace("_", " ")

    return [
        Line(f"{label(k)} {_n(v)}", 1) for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _box_svg(box: Box) -> str:
    parts = [
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" '
        'fill="#ffffff" stroke="#333333" stroke-width="1.2"/>'
    ]
    for i, line in enumerate(box.lines):
        x = box.x + PAD + 14 * line.indent
        y = box.y + PAD + LINE * (i + 1) - 4
        weight = ' font-weight="bold"' if line.bold else ""
        parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="12"{weight} '
            f'fill="#111111">{escape(line.text)}</text>'
        )
    return "\n".join(parts)


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    """A line with a filled triangular head at (x2, y2); only horizontal or vertical arrows are drawn."""
    size = 6.0
    if abs(x2 - x1) > abs(y2 - y1):
        sign = 1 if x2 > x1 else -1
        back = x2 - sign * size
        head = f"{x2:.1f},{y2:.1f} {back:.1f},{y2 - size / 2:.1f} {back:.1f},{y2 + size / 2:.1f}"
        end = (back, y2)
    else:
        sign = 1 if y2 > y1 else -1
        back = y2 - sign * size
        head = f"{x2:.1f},{y2:.1f} {x2 - size / 2:.1f},{back:.1f} {x2 + size / 2:.1f},{back:.1f}"
        end = (x2, back)
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{end[0]:.1f}" y2="{end[1]:.1f}" stroke="#333333" '
        f'stroke-width="1.2"/>\n<polygon points="{head}" fill="#333333"/>'
    )


def _phase(label: str, top: float, bottom: float) -> str:
    h = max(bottom - top, 24)
    return (
        f'<rect x="4" y="{top:.1f}" width="{GUTTER - 16}" height="{h:.1f}" rx="8" fill="#dbe8f5" '
        f'stroke="#7a9cc6"/>\n<text x="{4 + (GUTTER - 16) / 2:.1f}" y="{top + h / 2 + 4:.1f}" '
        f'text-anchor="middle" font-family="{FONT}" font-size="13" font-weight="bold" '
        f'fill="#1f3a5f">{escape(label)}</text>'
    )


def consort_svg(
    counts: ConsortCounts,
    view: ArmView,
    criteria: Mapping[str, str] | None = None,
    decline_reasons: Mapping[str, str] | None = None,
    problems: list[str] | None = None,
) -> str:
    """The flow diagram; in the open report (``view.closed`` False) intervention-only counts are hidden."""
    main_x = GUTTER
    main_w = WIDTH - GUTTER - 8
    centre = main_x + main_w / 2
    arms = [a for a in view.codes if a in counts.arms] + [a for a in counts.arms if a not in view.codes]
    svg: list[str] = []

    # Enrolment
    assessed = Box(
        centre - 130, 12, 260, [Line(f"Assessed for eligibility {_n(counts.assessed)}", bold=True)]
    )
    if counts.screenings > counts.assessed:
        assessed.lines.append(Line(f"{counts.screenings} screenings, re-screenings included"))
    excl_lines = [
        Line(f"Excluded {_n(counts.excluded)}", bold=True),
        Line(f"Not meeting eligibility criteria {_n(counts.not_meeting)}"),
        *_reasons(counts.not_meeting_by_criterion, criteria, with_code=True),
        Line(f"Declined to participate {_n(sum(counts.declined.values()))}"),
        *_reasons(counts.declined, decline_reasons),
        Line(f"Other reasons {_n(sum(counts.other.values()))}"),
        *_reasons(counts.other),
    ]
    ex_x = centre + 28
    excluded = Box(ex_x, assessed.bottom + 22, main_x + main_w - ex_x, [])
    excluded.lines = _wrap(excl_lines, excluded.w)
    randomised = Box(
        centre - 130, excluded.bottom + 22, 260, [Line(f"Randomised {_n(counts.randomised)}", bold=True)]
    )
    svg += [_box_svg(assessed), _box_svg(excluded), _box_svg(randomised)]
    svg.append(
        f'<line x1="{centre:.1f}" y1="{assessed.bottom:.1f}" x2="{centre:.1f}" y2="{randomised.y - 6:.1f}" '
        'stroke="#333333" stroke-width="1.2"/>'
    )
    svg.append(
        f'<polygon points="{centre:.1f},{randomised.y:.1f} {centre - 3:.1f},{randomised.y - 6:.1f} '
        f'{centre + 3:.1f},{randomised.y - 6:.1f}" fill="#333333"/>'
    )
    branch_y = excluded.y + min(excluded.h / 2, 20)
    svg.append(_arrow(centre, branch_y, excluded.x, branch_y))
    svg.append(_phase("Enrolment", assessed.y, randomised.bottom))

    # One column per arm (two arms are drawn side by side; more arms share the width)
    n_cols = max(len(arms), 1)
    col_w = (main_w - 12 * (n_cols - 1)) / n_cols
    xs = [main_x + i * (col_w + 12) for i in range(n_cols)]
    rows: list[list[list[Line]]] = [[], [], []]
    for arm in arms:
        flow = counts.arms[arm]
        name = view.name(arm)
        alloc = [Line(f"Allocated to {name} {_n(flow.allocated)}", bold=True)]
        if view.closed:
            if flow.receives_intervention:
                alloc.append(Line(f"Received allocated intervention {_n(flow.received)}"))
                alloc.append(
                    Line(f"Did not receive allocated intervention {_n(sum(flow.not_received.values()))}")
                )
                alloc += _reasons(flow.not_received)
            else:
                alloc.append(Line(f"Received allocated treatment {_n(flow.received)}"))
        else:
            alloc.append(Line(f"Received allocated intervention: {CLOSED_ONLY}"))
        follow = [Line(f"Lost to follow-up {_n(sum(flow.lost.values()))}", bold=True), *_reasons(flow.lost)]
        if view.closed:
            follow.append(Line(f"Discontinued intervention {_n(sum(flow.discontinued.values()))}", bold=True))
            follow += _reasons(flow.discontinued)
        else:
            follow.append(Line(f"Discontinued intervention: {CLOSED_ONLY}"))
        analysis = [Line(f"Analysed, intention to treat {_n(flow.analysed)}", bold=True)]
        if flow.primary_observed is not None:
            analysis.append(Line(f"with the primary outcome observed {_n(flow.primary_observed)}", 1))
        analysis.append(Line(f"Excluded from analysis {_n(sum(flow.excluded_from_analysis.values()))}"))
        analysis += _reasons(flow.excluded_from_analysis)
        for row, lines in zip(rows, (alloc, follow, analysis), strict=True):
            row.append(_wrap(lines, col_w))

    branch = randomised.bottom + 14
    top = branch + 18
    if arms:
        svg.append(
            f'<line x1="{centre:.1f}" y1="{randomised.bottom:.1f}" x2="{centre:.1f}" y2="{branch:.1f}" '
            'stroke="#333333" stroke-width="1.2"/>'
        )
        svg.append(
            f'<line x1="{xs[0] + col_w / 2:.1f}" y1="{branch:.1f}" x2="{xs[-1] + col_w / 2:.1f}" '
            f'y2="{branch:.1f}" stroke="#333333" stroke-width="1.2"/>'
        )
    previous: list[Box] = []
    for phase, row in zip(("Allocation", "Follow-up", "Analysis"), rows, strict=True):
        height: float = max((2 * PAD + LINE * len(lines) for lines in row), default=2 * PAD + LINE)
        boxes = [Box(x, top, col_w, lines) for x, lines in zip(xs, row, strict=True)]
        for i, box in enumerate(boxes):
            box.lines += [Line("")] * int((height - box.h) / LINE)
            svg.append(_box_svg(box))
            start = previous[i].bottom if previous else branch
            svg.append(_arrow(box.cx, start, box.cx, box.y))
        svg.append(_phase(phase, top, top + height))
        previous = boxes
        top += height + 26
    height = top - 8
    if problems:
        svg.append(
            f'<text x="{main_x}" y="{height + 4:.1f}" font-family="{FONT}" font-size="12" fill="#b00020">'
            f"{escape(f'The counts do not reconcile: {len(problems)} mismatch(es), listed below.')}</text>"
        )
        height += 16
    desc = describe(counts, view)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="consort" role="img" '
        f'aria-labelledby="consort-title consort-desc" width="{WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}">\n<title id="consort-title">CONSORT 2025 flow diagram</title>\n'
        f'<desc id="consort-desc">{escape(desc)}</desc>\n' + "\n".join(svg) + "\n</svg>"
    )


def describe(counts: ConsortCounts, view: ArmView) -> str:
    """The flow as sentences (the diagram's ``<desc>``)."""
    parts = [
        f"{counts.assessed} assessed for eligibility; {counts.excluded} excluded "
        f"({counts.not_meeting} not meeting criteria, {sum(counts.declined.values())} declined, "
        f"{sum(counts.other.values())} for other reasons); {counts.randomised} randomised."
    ]
    for arm in [a for a in view.codes if a in counts.arms]:
        flow = counts.arms[arm]
        text = f"{view.name(arm)}: {flow.allocated} allocated"
        if view.closed:
            text += f", {flow.received} received the allocated intervention"
        text += f", {sum(flow.lost.values())} lost to follow-up"
        if view.closed:
            text += f", {sum(flow.discontinued.values())} discontinued the intervention"
        text += f", {flow.analysed} analysed."
        parts.append(text)
    return " ".join(parts)
