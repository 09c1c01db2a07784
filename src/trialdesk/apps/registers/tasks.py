"""The background task of a register import job (django-tasks' database backend; ``trialdesk worker``)."""

from __future__ import annotations

from django_tasks import task


@task()
def import_extract(job_id: int) -> str:
    from .jobs import run

    return run(job_id)
