from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "trialdesk.apps.accounts"
    label = "accounts"
    verbose_name = "Staff and roles"
