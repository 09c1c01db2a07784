from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "trialdesk.apps.screening"
    label = "screening"
    verbose_name = "Screening"
