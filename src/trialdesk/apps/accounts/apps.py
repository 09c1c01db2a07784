from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "trialdesk.apps.accounts"
    label = "accounts"
    verbose_name = "Staff and roles"

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from .lockout import record_lockout

        user_locked_out.connect(record_lockout, dispatch_uid="trialdesk-ledger-lockout")
