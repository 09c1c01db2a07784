from django.apps import AppConfig


class DataManagementConfig(AppConfig):
    name = "trialdesk.apps.datamanagement"
    label = "datamanagement"
    verbose_name = "Data management"

    def ready(self) -> None:
        # Every ledger-recorded write passes the lock check, whichever service or channel makes it.
        from trialdesk.apps.ledger.services import register_guard

        from .locks import ledger_guard

        register_guard(ledger_guard)
