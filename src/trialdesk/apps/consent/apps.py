from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "trialdesk.apps.consent"
    label = "consent"
    verbose_name = "Consent"
