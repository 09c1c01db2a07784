"""API tokens and idempotency records.

A token is shown once, when it is made; only its SHA-256 is stored. Tokens are 256 random bits, so a plain
hash is enough (a slow password hash protects guessable secrets, which these are not) and lets a request
find its token with one indexed look-up.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A bearer token acting as one user, until it expires or is revoked."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="what the token is for, e.g. the script using it")
    prefix = models.CharField(max_length=12, help_text="the token's first characters, to recognise it")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        # Never the token itself.
        return f"API token {self.prefix}… of {self.user_id}"

    def usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at and self.user.is_active


class IdempotencyRecord(models.Model):
    """A request made with an ``Idempotency-Key``: its fingerprint, and once done, the response it got.

    A record without a response is a request still running (or one that failed and was released).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = (models.UniqueConstraint(fields=["user", "key"], name="one_record_per_user_key"),)

    def __str__(self) -> str:
        return f"idempotency record #{self.pk}"
