from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "trialdesk.apps.assessments"
    label = "assessments"
    verbose_name = "Outcome assessment"
