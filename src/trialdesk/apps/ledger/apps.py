from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "trialdesk.apps.ledger"
    label = "ledger"
    verbose_name = "Audit ledger"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the login audit receivers
