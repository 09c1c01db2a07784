"""Export downloads and the snapshot list, for users allowed ``export-data`` (blinded unless they may see
allocations). Downloads stream: a table as CSV chunk by chunk, a whole export as a zip read from disk."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pyarrow.csv as pa_csv
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import render

from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import Context
from trialdesk.apps.trial.services import active_hash
from trialdesk.errors import UserError

from .arrow import to_arrow
from .export import FORMATS, export
from .extract import Extraction
from .models import Snapshot


def _require_export(request) -> bool:
    """Refuses users without export-data; returns whether the user's exports are blinded."""
    if not allowed(request.user, "export-data"):
        raise PermissionDenied("exporting data needs the export-data permission")
    return not allowed(request.user, "view-allocation")


@login_required
def index(request):
    blinded = _require_export(request)
    tables = Extraction(blinded=blinded).tables
    snapshots = Snapshot.objects.all()[:100]
    if blinded:
        snapshots = [s for s in snapshots if s.blinded]
    context = {"formats": FORMATS, "tables": tables, "blinded": blinded, "snapshots": snapshots}
    return render(request, "snapshots/index.html", context)


@login_required
def table_csv(request, name: str):
    """One table as CSV, written to the response a chunk at a time."""
    blinded = _require_export(request)
    extraction = Extraction(blinded=blinded)
    if name not in extraction.tables:
        raise Http404("no such table in your exports")

    def rows():
        first = True
        for chunk in extraction.chunks(name):
            buffer = io.BytesIO()
            options = pa_csv.WriteOptions(quoting_style="needed", include_header=first)
            pa_csv.write_csv(to_arrow(name, chunk), buffer, write_options=options)
            yield buffer.getvalue()
            first = False

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@login_required
def download(request, fmt: str):
    """A whole export (all tables and the data dictionary) as one zip file, streamed from disk."""
    _require_export(request)
    context = Context(actor=request.user.get_username(), channel="web", protocol_hash=active_hash())
    archive = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes (and so deletes) it
    try:
        with tempfile.TemporaryDirectory() as workdir:
            result = export(fmt, Path(workdir) / "export", user=request.user, context=context)
            with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
                for path in sorted(result.out.iterdir()):
                    zipped.write(path, arcname=path.name)
    except UserError as refused:
        archive.close()
        raise Http404(str(refused)) from None
    archive.seek(0)
    return FileResponse(
        archive, as_attachment=True, filename=f"trialdesk-{fmt}.zip", content_type="application/zip"
    )
