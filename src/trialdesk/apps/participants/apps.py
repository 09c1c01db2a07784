from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    name = "trialdesk.apps.participants"
    label = "participants"
    verbose_name = "Participants"
