"""The background task: django-tasks with its database backend, so queued runs survive restarts.

``trialdesk worker`` (django_tasks_db's ``db_worker``) picks them up.
"""

from __future__ import annotations

from django_tasks import task


@task()
def analyse_run(run_id: int) -> str:
    from .services import execute

    return execute(run_id).status
