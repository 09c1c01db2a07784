"""Exports, on the web's terms: ``export-data`` needed, blinded (arms as letters, no dose table) unless
the caller may see allocations. A table streams as CSV; a whole export streams as a zip from disk."""

import io
import tempfile
import zipfile
from pathlib import Path as FilePath
from typing import Literal

import pyarrow.csv as pa_csv
from django.db import transaction
from django.http import FileResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from ninja import Path, Schema

from trialdesk import datasets
from trialdesk.apps.accounts.permissions import allowed
from trialdesk.apps.ledger.services import append
from trialdesk.apps.snapshots.arrow import to_arrow
from trialdesk.apps.snapshots.export import FORMATS, export
from trialdesk.apps.snapshots.extract import Extraction

from ..errors import not_found
from ..registry import Routes, Rule
from .common import CODE, context_for

routes = Routes("/exports", "exports")
EXPORT = Rule("trial", ("export-data",))
Format = Literal["csv", "parquet", "stata", "odm"]
assert set(FORMATS) == {"csv", "parquet", "stata", "odm"}


class TableOut(Schema):
    name: str
    description: str
    columns: list[str]


class ExportsOut(Schema):
    blinded: bool
    formats: list[str]
    tables: list[TableOut]


def _blinded(request) -> bool:
    return not allowed(request.user, "view-allocation")


def _file(content_type: str, what: str) -> dict:
    return {"responses": {200: {"description": what, "content": {content_type: {"schema": {"type": "string",
            "format": "binary"}}}}}}  # fmt: skip


@routes.get("", rule=EXPORT, response=ExportsOut)
def exports(request):
    """The tables and formats the caller may export, and whether their exports are blinded."""
    extraction = Extraction(blinded=_blinded(request))
    tables = [
        TableOut(name=name, description=datasets.TABLES[name].description,
                 columns=list(datasets.TABLES[name].column_names))
        for name in extraction.tables
    ]  # fmt: skip
    return ExportsOut(blinded=extraction.blinded, formats=list(FORMATS), tables=tables)


@routes.get("/tables/{name}", rule=EXPORT, openapi_extra=_file("text/csv", "the table as UTF-8 CSV"))
def table_csv(request, name: str = Path(..., pattern=CODE)):
    """One table as CSV, streamed a chunk at a time. The download is recorded in the ledger."""
    extraction = Extraction(blinded=_blinded(request))
    if name not in extraction.tables:
        raise not_found(_("no table %(name)s in your exports") % {"name": repr(name)})
    with transaction.atomic():
        append(context_for(request), action="export", entity="export-table", entity_id=name,
               new={"blinded": extraction.blinded, "format": "csv"})  # fmt: skip

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


@routes.get("/archive/{fmt}", rule=EXPORT, openapi_extra=_file("application/zip", "every table and the "
            "data dictionary, zipped"))  # fmt: skip
def archive(request, fmt: Format):
    """A whole export in one format as a zip (written to a temporary file, then streamed from disk); the
    export is recorded in the ledger with its files' SHA-256."""
    archive_file = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes (and so deletes) it
    try:
        with tempfile.TemporaryDirectory() as workdir:
            out = FilePath(workdir) / "export"
            result = export(fmt, out, user=request.user, context=context_for(request))
            with zipfile.ZipFile(archive_file, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
                for path in sorted(result.out.iterdir()):
                    zipped.write(path, arcname=path.name)
    except BaseException:
        archive_file.close()
        raise
    archive_file.seek(0)
    return FileResponse(archive_file, as_attachment=True, filename=f"trialdesk-{fmt}.zip",
                        content_type="application/zip")  # fmt: skip
