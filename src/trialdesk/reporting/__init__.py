"""Reporting: CONSORT flow, tables, figures, and the HTML/PDF trial report (pure: no Django).

>>> from trialdesk.reporting import render_report
>>> paths = render_report(tables, results, "out", closed=False)   # doctest: +SKIP
"""

from trialdesk.reporting.report import ReportPaths, render_html, render_report

__all__ = ["ReportPaths", "render_html", "render_report"]
