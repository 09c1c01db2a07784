"""Start Django from the command line (the pure packages never import this)."""

from __future__ import annotations

import os


def setup(*, migrate: bool = False) -> None:
    """Configure Django once; with ``migrate`` bring the schema up to date quietly."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialdesk.web.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    from django.conf import settings
    from django.utils import translation

    # The command line speaks English (LANGUAGE_CODE), whatever a web request in this process last chose:
    # its messages are part of the contract scripts read.
    translation.activate(settings.LANGUAGE_CODE)
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
