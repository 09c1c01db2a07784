from django.apps import AppConfig


class InterventionConfig(AppConfig):
    name = "trialdesk.apps.intervention"
    label = "intervention"
    verbose_name = "IMR delivery"
