from django.apps import AppConfig


class SnapshotsConfig(AppConfig):
    name = "trialdesk.apps.snapshots"
    label = "snapshots"
    verbose_name = "Snapshots, exports and backups"
