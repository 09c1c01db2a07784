"""Reading a hospital-register extract (CSV or Excel .xlsx) keyed by CPR number, strictly.

The extract has one row per event and these columns (header names are matched case-insensitively;
other columns are ignored and reported):

  cpr         the person's CPR number, DDMMYY-SSSS or DDMMYYSSSS (an Excel number cell that lost its
              leading zero is padded back to 10 digits)
  event       admission | er_visit | outpatient_contact
  start_date  admission date, or the date of the ER visit or outpatient contact
  end_date    discharge date: required for an admission, not before its start; ignored (but checked)
              for the other events, which are stored as one-day events

Dates are written YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY, or are Excel date cells. Rows are numbered as a
spreadsheet shows them: the header is row 1, the first event row 2. Blank rows are skipped.

Every problem found names its row and column; all are collected and raised together. No message ever
contains a CPR number: a known number is shown masked (``010180-****``), a malformed one not at all.
This module imports no Django.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from trialdesk.apps.participants import cpr as cpr_rules
from trialdesk.errors import ProblemsError, UserError, ngettext
from trialdesk.errors import gettext as _

COLUMNS = ("cpr", "event", "start_date", "end_date")
EVENTS = ("admission", "er_visit", "outpatient_contact")
#: How many problems an error lists before summarising the rest.
MAX_LISTED = 50

XLSX_MAGIC = b"PK\x03\x04"
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")
_DIGITS = re.compile(r"\d")


@dataclass(frozen=True)
class ExtractRow:
    """One event as read: ``cpr`` is normalised and must never be logged or shown (see ``masked``)."""

    row: int
    cpr: str
    event: str
    start: dt.date
    end: dt.date

    def __repr__(self) -> str:
        return f"ExtractRow(row={self.row}, cpr={self.masked}, event={self.event}, {self.start}..{self.end})"

    @property
    def masked(self) -> str:
        return mask(self.cpr)

    @property
    def key(self) -> tuple[str, str, dt.date, dt.date]:
        return (self.cpr, self.event, self.start, self.end)


@dataclass(frozen=True)
class Extract:
    rows: tuple[ExtractRow, ...]
    rows_read: int
    ignored_columns: tuple[str, ...]


def mask(cpr: str) -> str:
    """A normalised CPR number with its serial hidden: ``010180-****``."""
    return f"{cpr[:6]}-****"


def read(data: bytes, name: str = "") -> Extract:
    """Read and validate an extract; ProblemsError listing every problem by row and column."""
    header, cells = _opened(data, name)
    return _validate(header, cells)


def check_header(data: bytes, name: str = "") -> None:
    """The cheap part of :func:`read`, for an upload form: the file opens and its header row names every
    column. No event row is read (an Excel workbook is closed after its first row)."""
    header, cells = _opened(data, name)
    try:
        _columns(header)
    finally:
        cells.close()


def _opened(data: bytes, name: str) -> tuple[list[Any], Generator[list[Any], None, None]]:
    """The header row and a generator of the rows after it."""
    if not data.strip():
        raise UserError(_("%(file)s is empty: expected a header row with %(columns)s") % {
            "file": name or _("the file"), "columns": ', '.join(COLUMNS)})
    cells = _xlsx_cells(data) if data.startswith(XLSX_MAGIC) else _csv_cells(data)
    header = next(cells, None)
    if header is None:
        raise UserError(_("%(file)s has no header row") % {"file": name or _("the file")})
    return header, cells


def _csv_cells(data: bytes) -> Generator[list[Any], None, None]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Danish Excel saves CSV as Windows-1252; the column names are ASCII either way.
        text = data.decode("cp1252", errors="replace")
    first_line = text.split("\n", 1)[0]
    delimiter = max(";,\t", key=first_line.count)
    yield from csv.reader(io.StringIO(text), delimiter=delimiter)


def _xlsx_cells(data: bytes) -> Generator[list[Any], None, None]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as problem:  # openpyxl raises many kinds for a damaged file
        raise UserError(
            _("the Excel file cannot be read (%(name)s)") % {"name": type(problem).__name__}
        ) from None
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield list(values)
    finally:
        book.close()


def _blank(values: Iterable[Any]) -> bool:
    return all(value is None or str(value).strip() == "" for value in values)


def _columns(header: list[Any]) -> tuple[dict[str, int], tuple[str, ...]]:
    """Column -> its position in the header, and the other (ignored) column names."""
    names = [str(value or "").strip().lower() for value in header]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise UserError(
            _("row 1 (header): missing column(s) %(missing)s; an extract needs the columns %(columns)s") % {
                "missing": ', '.join(missing), "columns": ', '.join(COLUMNS)}
        )
    ignored = tuple(name for name in names if name and name not in COLUMNS)
    return {column: names.index(column) for column in COLUMNS}, ignored


def _validate(header: list[Any], cells: Iterator[list[Any]]) -> Extract:
    index, ignored = _columns(header)
    problems: list[str] = []
    rows: list[ExtractRow] = []
    first_seen: dict[tuple[str, str, dt.date, dt.date], int] = {}
    read_count = 0
    for number, values in enumerate(cells, start=2):
        if _blank(values):
            continue
        read_count += 1
        cell = {column: values[i] if i < len(values) else None for column, i in index.items()}
        row, row_problems = _row(number, cell)
        problems.extend(row_problems)
        if row is None:
            continue
        if (earlier := first_seen.get(row.key)) is not None:
            problems.append(_(
                "row %(number)s: duplicates row %(earlier)s (same cpr, event, start_date, end_date)"
            ) % {"number": number, "earlier": earlier})
            continue
        first_seen[row.key] = number
        rows.append(row)
    if read_count == 0:
        raise UserError(_("the extract has a header but no event rows"))
    if problems:
        listed = problems[:MAX_LISTED]
        if len(problems) > MAX_LISTED:
            listed.append(_("... and %(count)s more problems") % {"count": len(problems) - MAX_LISTED})
        header = ngettext(
            "the extract was not imported (%(count)s problem):",
            "the extract was not imported (%(count)s problems):",
            len(problems),
        ) % {"count": len(problems)}
        raise ProblemsError([header, *listed])
    return Extract(tuple(rows), read_count, ignored)


def _row(number: int, cell: dict[str, Any]) -> tuple[ExtractRow | None, list[str]]:
    problems: list[str] = []
    cpr = _cpr(cell["cpr"])
    if cpr is None:
        problems.append(
            _("row %(number)s, column cpr: not a valid CPR number (DDMMYY-SSSS with a real birth date)") % {
                "number": number}
        )
    event = str(cell["event"] or "").strip().lower()
    if event not in EVENTS:
        shown = f" {event!r}" if event and len(event) <= 30 and not _DIGITS.search(event) else ""
        problems.append(
            _("row %(number)s, column event: unknown event type%(shown)s; expected one of %(events)s") % {
                "number": number, "shown": shown, "events": ', '.join(EVENTS)}
        )
    start = _date(cell["start_date"], number, "start_date", problems, required=True)
    end = _date(cell["end_date"], number, "end_date", problems, required=event == "admission")
    if start is not None and end is not None and end < start:
        message = (
            _("row %(number)s, column end_date: discharge date %(end)s is before the start date %(start)s")
            if event == "admission"
            else _("row %(number)s, column end_date: end date %(end)s is before the start date %(start)s")
        )
        problems.append(message % {"number": number, "end": end, "start": start})
    if problems or cpr is None or start is None:
        return None, problems
    # Point events are stored as one-day events, so their identity is the start date alone.
    stored_end = end if event == "admission" and end is not None else start
    return ExtractRow(number, cpr, event, start, stored_end), problems


def _cpr(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value) != int(value):
            return None
        text = f"{int(value):010d}"
    else:
        text = str(value).strip()
    try:
        return cpr_rules.validate(text)
    except UserError:
        return None


def _date(value: Any, number: int, column: str, problems: list[str], *, required: bool) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            needed = "an admission needs its discharge date" if column == "end_date" else "a date is required"
            problems.append(_("row %(number)s, column %(column)s: empty; %(needed)s") % {
                "number": number, "column": column, "needed": needed})
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for pattern in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    problems.append(_(
        "row %(number)s, column %(column)s: not a date (write YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY)"
    ) % {"number": number, "column": column})
    return None
