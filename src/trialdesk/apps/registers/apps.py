from django.apps import AppConfig


class RegistersConfig(AppConfig):
    name = "trialdesk.apps.registers"
    label = "registers"
    verbose_name = "Registers"
