"""The trial report: one self-contained HTML page (and a PDF of it), open (arms A/B) or closed (arms named).

Templates are Jinja2: autoescaping by default (free text from the data cannot inject markup), loops
and conditionals for sections that may be missing, template inheritance-free single file. Django's
template engine would need Django, which the pure packages must not import; ``string.Template`` has
no loops or escaping. The sections are built in :mod:`trialdesk.reporting.sections`. Nothing in the
output depends on the clock or the machine, so the same inputs give the same bytes (figures: see
:mod:`trialdesk.reporting.figures`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from trialdesk.reporting.sections import build_sections, trusted
from trialdesk.reporting.tables import fmt, fmt_effect, fmt_p
from trialdesk.reporting.trialinfo import TrialInfo


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    pdf: Path | None


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("trialdesk.reporting", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(fmt=fmt, fmt_p=fmt_p, fmt_effect=fmt_effect)
    return env


def render_html(
    tables: Mapping[str, pd.DataFrame],
    results: Any,
    closed: bool,
    *,
    trial: TrialInfo | None = None,
    arm_key: Mapping[str, str] | None = None,
) -> str:
    """The report as one HTML document (styles and figures inline)."""
    built = build_sections(tables, results, closed, trial, arm_key)
    view = built.view
    env = _environment()
    css = (Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8")
    return env.get_template("report.html.j2").render(
        sections={s.key: s for s in built.sections},
        notes=built.notes,
        unestimated=built.unestimated,
        warned=built.warned,
        trial=built.trial,
        view=view,
        closed=closed,
        css=trusted(css),
        arm_names=[view.name(a) for a in view.codes],
        arm_shorts=[view.short_name(a) for a in view.codes],
    )


def render_report(
    tables: Mapping[str, pd.DataFrame],
    results: Any,
    out_dir: str | Path,
    closed: bool,
    *,
    trial: TrialInfo | None = None,
    arm_key: Mapping[str, str] | None = None,
    pdf: bool = True,
) -> ReportPaths:
    """Write ``report-open.html`` or ``report-closed.html`` (and the PDF of it) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = "report-closed" if closed else "report-open"
    html = render_html(tables, results, closed, trial=trial, arm_key=arm_key)
    html_path = out / f"{name}.html"
    html_path.write_text(html, encoding="utf-8")
    pdf_path = None
    if pdf:
        from trialdesk.reporting.pdf import html_to_pdf

        pdf_path = html_to_pdf(html, out / f"{name}.pdf")
    return ReportPaths(html_path, pdf_path)
