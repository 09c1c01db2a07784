"""Snapshots of the analysis tables, and the fixed A/B letters that stand for arms in blinded data."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _

from trialdesk.errors import UserError


class ArmLetter(models.Model):
    """The letter (A, B, ...) that stands for an arm in every blinded snapshot and export of this trial.

    Drawn once, at first use, by a seeded shuffle whose seed comes from the operating system's random
    source, so the letters follow neither the protocol's order nor the alphabet. Only code paths for users
    allowed ``view-allocation`` read this table; its ledger entry records that letters were drawn, never
    which arm got which.
    """

    arm = models.CharField(max_length=40, unique=True)
    letter = models.CharField(max_length=2, unique=True)
    seed = models.BigIntegerField()
    algorithm = models.CharField(max_length=60)
    drawn_at = models.DateTimeField()

    class Meta:
        ordering = ("letter",)

    def __str__(self) -> str:
        # Never the arm: string forms reach logs and error pages.
        return f"arm letter {self.letter}"


class Snapshot(models.Model):
    """An immutable set of analysis tables written as Parquet under ``DATA_DIR/snapshots/<id>``.

    ``manifest`` holds the SHA-256 and row count of every file, the protocol hash and the time; the same
    document is written beside the files as ``manifest.json``. A saved row is never changed or deleted.
    """

    id = models.CharField(primary_key=True, max_length=40)
    label = models.CharField(max_length=200)
    taken_at = models.DateTimeField()
    taken_by = models.CharField(max_length=150)
    protocol_hash = models.CharField(max_length=64)
    blinded = models.BooleanField(default=True, help_text="arms as A/B; no per-participant IMR data")
    manifest = models.JSONField()
    manifest_sha256 = models.CharField(max_length=64, help_text="SHA-256 of manifest.json as written")

    class Meta:
        ordering = ("-taken_at", "-id")

    def __str__(self) -> str:
        return f"snapshot {self.id} ({self.label})"

    _FIELDS = ("label", "taken_at", "taken_by", "protocol_hash", "blinded", "manifest", "manifest_sha256")

    def save(self, *args, **kwargs) -> None:
        stored = Snapshot.objects.filter(pk=self.pk).values(*self._FIELDS).first() if self.pk else None
        if stored is not None:
            changed = [name for name in self._FIELDS if stored[name] != getattr(self, name)]
            if changed:
                raise UserError(_("snapshot %(snapshot)s is immutable: refusing to change %(changed)s") % {
                    "snapshot": self.pk, "changed": ', '.join(changed)})
            return
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise UserError(_("snapshot %(snapshot)s is immutable: it cannot be deleted") % {"snapshot": self.pk})
