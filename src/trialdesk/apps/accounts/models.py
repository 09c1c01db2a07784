from django.conf import settings
from django.db import models

from .roles import Role


class Membership(models.Model):
    """A user's role, at one site or (site empty) at all sites."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=[(r.value, r.label) for r in Role])
    site = models.ForeignKey("trial.Site", null=True, blank=True, on_delete=models.PROTECT,
                             help_text="empty: all sites")
    unblinded = models.BooleanField(default=False, help_text="named unblinded: may see allocations")
    personal_data = models.BooleanField(default=False, help_text="may read the identifying key table")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "site"], name="one_membership_per_role_site"),
        ]

    def __str__(self) -> str:
        where = self.site.code if self.site_id else "all sites"
        return f"{self.user} — {Role(self.role).label} @ {where}"


class UserPreference(models.Model):
    """Per-user settings that follow the user from browser to browser: for now, the interface language."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, blank=True,
                                help_text="empty: the browser's language")

    def __str__(self) -> str:
        return f"{self.user}: {self.language or 'browser language'}"
