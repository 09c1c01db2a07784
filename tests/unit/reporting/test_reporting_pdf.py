"""The PDF: produced from the same HTML without system packages, with pages, reproducible bytes."""

from __future__ import annotations

import io

from pypdf import PdfReader

from trialdesk.reporting import render_report
from trialdesk.reporting.pdf import html_to_pdf, printable


def test_render_report_writes_html_and_a_pdf_with_pages(tmp_path, trial_tables, trial_results, trial):
    paths = render_report(trial_tables, trial_results, tmp_path, closed=False, trial=trial)
    assert paths.html == tmp_path / "report-open.html"
    assert paths.html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    data = paths.pdf.read_bytes()
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 4
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Participant flow (CONSORT 2025)" in text
    assert "Provenance" in text
    assert "Treatment as usual" not in text  # the open report, in print too


def test_inline_svg_goes_to_the_pdf_as_an_svg_image():
    html = (
        '<html><head><style>p {}</style></head><body><figure><svg xmlns="http://www.w3.org/2000/svg" '
        'width="840" height="100"><rect width="10" height="10"/></svg><figcaption>c</figcaption></figure>'
        "</body></html>"
    )
    out = printable(html)
    assert "<svg" not in out
    assert 'src="data:image/svg+xml;base64,' in out
    assert 'width="480pt" height="57pt"' in out  # 840 px = 630 pt, scaled to the 480 pt text width
    assert '<p class="caption">c</p>' in out
    assert "@page" in out


def test_same_html_gives_the_same_pdf_bytes(tmp_path):
    html = "<html><head><style>p {}</style></head><body><h1>Report</h1><p>one page</p></body></html>"
    first = html_to_pdf(html, tmp_path / "a.pdf").read_bytes()
    second = html_to_pdf(html, tmp_path / "b.pdf").read_bytes()
    assert first == second
    assert len(PdfReader(io.BytesIO(first)).pages) == 1
