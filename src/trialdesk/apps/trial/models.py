from django.db import models


class ProtocolVersion(models.Model):
    """A protocol as loaded, kept whole with its content hash; every record stores the hash it ran under."""

    content_hash = models.CharField(max_length=64, unique=True)
    trial_code = models.CharField(max_length=40)
    version = models.CharField(max_length=40)
    title = models.TextField()
    document = models.JSONField(help_text="the validated protocol, as `trialdesk protocol show --json`")
    loaded_at = models.DateTimeField()
    loaded_by = models.CharField(max_length=150)
    active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-loaded_at"]
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=models.Q(active=True),
                                    name="one_active_protocol"),
        ]

    def __str__(self) -> str:
        return f"{self.trial_code} {self.version} ({self.content_hash[:12]})"


class Site(models.Model):
    """A recruiting centre. Sites come from the protocol: never hard-coded."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=10, unique=True, help_text="trial id prefix, e.g. BAL")
    recruitment_target = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
