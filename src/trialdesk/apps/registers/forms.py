"""The register upload form: what can be checked while the user waits (type, size, header row)."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trialdesk.errors import UserError

from . import reader
from .services import masked_file_name

#: The largest extract accepted (a 10,000-row CSV is about 0.4 MB).
MAX_BYTES = 20 * 1024 * 1024
SUFFIXES = (".csv", ".txt", ".xlsx")


class UploadForm(forms.Form):
    extract = forms.FileField(label=gettext_lazy("Register extract (CSV or Excel .xlsx)"))
    accept_unmatched = forms.BooleanField(
        required=False,
        label=gettext_lazy("Store the matched rows even if some CPR numbers are not in the key table"),
    )

    #: The upload's bytes, once the form is valid.
    extract_bytes: bytes = b""

    def clean_extract(self):
        upload = self.cleaned_data["extract"]
        suffix = Path(upload.name or "").suffix.lower()
        if not suffix:
            raise forms.ValidationError(
                _("choose a CSV (.csv) or Excel workbook (.xlsx); a file without an extension cannot be read")
            )
        if suffix not in SUFFIXES:
            raise forms.ValidationError(
                _("choose a CSV (.csv) or Excel workbook (.xlsx); %(suffix)s files cannot be read") % {
                    "suffix": suffix}
            )
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("the file is %(size)s MB; an extract may be at most %(most)s MB") % {
                    "size": f"{upload.size / 2**20:.1f}", "most": MAX_BYTES // 2**20}
            )
        data = upload.read()
        if suffix == ".xlsx" and not data.startswith(reader.XLSX_MAGIC):
            raise forms.ValidationError(
                _("this .xlsx file is not an Excel workbook: save it again as .xlsx or CSV")
            )
        try:
            reader.check_header(data, masked_file_name(upload.name))
        except UserError as problem:
            raise forms.ValidationError(str(problem)) from None
        self.extract_bytes = data
        return upload
