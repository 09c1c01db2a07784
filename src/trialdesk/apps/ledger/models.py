from django.db import models

CHANNELS = [
    ("web", "web"),
    ("api", "API"),
    ("import", "import"),
    ("command", "command line"),
    ("system", "system"),
]


class LedgerEntry(models.Model):
    """One recorded fact: who changed what, when, why, through which channel, under which protocol.

    Rows are never updated or deleted (database triggers refuse it); each carries the SHA-256 of its
    predecessor so ``trialdesk audit verify`` can find the first altered or removed entry.
    """

    seq = models.BigIntegerField(primary_key=True, help_text="position in the chain, from 1")
    at = models.DateTimeField(help_text="when, UTC")
    actor = models.CharField(max_length=150, help_text="username, or 'system'")
    channel = models.CharField(max_length=10, choices=CHANNELS)
    action = models.CharField(max_length=40, help_text="create, update, transition, login, ...")
    entity = models.CharField(max_length=60, help_text="what kind of record, e.g. participant")
    entity_id = models.CharField(max_length=80, blank=True)
    field = models.CharField(max_length=120, blank=True)
    old_value = models.TextField(blank=True, help_text="JSON")
    new_value = models.TextField(blank=True, help_text="JSON")
    reason = models.TextField(blank=True)
    site = models.CharField(max_length=20, blank=True, help_text="site code, for site-scoped review")
    participant = models.CharField(max_length=40, blank=True, help_text="trial id, for review by participant")
    protocol_hash = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["entity", "entity_id"]),
            models.Index(fields=["participant"]),
            models.Index(fields=["actor"]),
            models.Index(fields=["at"]),
        ]

    def __str__(self) -> str:
        when = f"{self.at:%Y-%m-%d %H:%M}"
        return f"#{self.seq} {when} {self.actor} {self.action} {self.entity} {self.entity_id}"
