from django.apps import AppConfig


class TrialConfig(AppConfig):
    name = "trialdesk.apps.trial"
    label = "trial"
    verbose_name = "Trial"
