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


def test_each_svg_is_parsed_once_and_drawn_as_a_second_parse_would_be(tmp_path, monkeypatch):
    """Two figures, one of them twice: every <img> is parsed once (not twice), the PDF bytes are those
    xhtml2pdf makes on its own, and xhtml2pdf is left as it was."""
    from xhtml2pdf import pisa
    from xhtml2pdf import xhtml2pdf_reportlab as xr

    svg = '<svg xmlns="http://www.w3.org/2000/svg" '
    square = svg + 'width="200" height="100"><rect width="50" height="40"/></svg>'
    circle = svg + 'width="300" height="150"><circle cx="9" cy="9" r="8"/></svg>'
    html = (f"<html><head><style>p {{}}</style></head><body><p>a</p>{square}<p>b</p>{circle}<p>c</p>{square}"
            "</body></html>")
    original_method, original_parse = xr.PmlImage.getDrawing, xr.svg2rlg
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return original_parse(*args, **kwargs)

    monkeypatch.setattr(xr, "svg2rlg", counting)
    from reportlab import rl_config

    monkeypatch.setattr(rl_config, "invariant", 1)  # as html_to_pdf sets it, for the reference bytes
    plain = io.BytesIO()
    pisa.CreatePDF(printable(html), dest=plain, encoding="utf-8", capacity=-1)  # xhtml2pdf on its own
    unpatched_calls, calls[:] = len(calls), []
    ours = html_to_pdf(html, tmp_path / "figures.pdf").read_bytes()
    assert unpatched_calls == 6 and len(calls) == 3
    assert ours == plain.getvalue()
    assert xr.PmlImage.getDrawing is original_method and xr.svg2rlg is counting
