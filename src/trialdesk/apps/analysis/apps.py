from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "trialdesk.apps.analysis"
    label = "analysis"
    verbose_name = "Analysis runs, reports and dashboards"
