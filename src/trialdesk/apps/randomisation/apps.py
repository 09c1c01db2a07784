from django.apps import AppConfig


class RandomisationConfig(AppConfig):
    name = "trialdesk.apps.randomisation"
    label = "randomisation"
    verbose_name = "Randomisation"
