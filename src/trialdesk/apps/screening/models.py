from django.db import models

VERDICTS = (("eligible", "eligible"), ("ineligible", "ineligible"))


class Screening(models.Model):
    """One screening of one person: the answers to every criterion, the verdict and its reasons.

    A re-screening (allowed when only re-screenable criteria failed) points to the screening it repeats.
    """

    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="screenings"
    )
    site = models.ForeignKey("trial.Site", on_delete=models.PROTECT, related_name="screenings")
    screened_on = models.DateField()
    referral_source = models.CharField(max_length=200)
    answers = models.JSONField(help_text="criterion code -> answer (bool, ICD-10 codes, or age in years)")
    verdict = models.CharField(max_length=10, choices=VERDICTS)
    reasons = models.JSONField(default=list, help_text="failed criteria: code, text, rescreen_allowed")
    rescreen_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rescreening"
    )
    screened_by = models.CharField(max_length=150)
    recorded_at = models.DateTimeField()
    protocol_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ("-screened_on", "-id")
        indexes = (models.Index(fields=["site", "screened_on"]), models.Index(fields=["verdict"]))

    def __str__(self) -> str:
        return f"{self.participant_id} screened {self.screened_on}: {self.verdict}"

    @property
    def reason_codes(self) -> list[str]:
        return [reason["code"] for reason in self.reasons]
